"""Pass: each statement on its own, map or in order (`commit`), and why."""
from __future__ import annotations

import types
from dataclasses import dataclass

from xcs.analysis.refusal import Refusal
from xcs.analysis.split.effect import Marks, commit_reason
from xcs.analysis.split.resolve import Resolver


@dataclass(frozen=True)
class Classification:
    """`kinds[k]` ("map", "commit" or "end") and `reasons[k]` (a Refusal or None) of each
    statement judged alone; `output`/`changing` the event marks found (`effect.Marks`)."""

    kinds: tuple
    reasons: tuple
    output: frozenset
    changing: frozenset
    guards: types.MappingProxyType
    turns: types.MappingProxyType = None   # event -> CalleeTurns (`effect.Marks`)
    statement_turns: types.MappingProxyType = None   # statement -> StatementTurns


def classify(desc, turns: bool = True, statement_turns: frozenset = frozenset()) -> Classification:
    """With `turns` False, a callee with ordered effects keeps its statement in order; the
    statements of `statement_turns` may take the turn inside (`statement_turns`)."""
    from xcs.analysis.split.statement_turns import statement_turns as turns_inside

    res, marks = Resolver(desc), Marks(turns={} if turns else None)
    kinds, reasons = [], []
    in_statements = {}
    for k, (s, events) in enumerate(zip(desc.raw, desc.events)):
        if k == 0:
            kinds.append("map"); reasons.append(None); continue
        if _is_end(desc, s):
            kinds.append("end"); reasons.append(None); continue
        if s.exits:
            # It ends the loop: only the in-order part may decide that (docs/speculation.md).
            kind, line = s.exits[0]
            kinds.append("commit"); reasons.append(Refusal("commit:exit", line, kind)); continue
        before = dict(marks.turns) if marks.turns is not None else None
        reason = commit_reason(desc, res, s, events, marks)
        if reason is not None and before is not None and marks.turns != before:
            # In order anyway: its calls run the callees themselves, and its reason is theirs.
            marks.turns = None
            reason = commit_reason(desc, res, s, events, marks)
            marks.turns = before
        if reason is not None and turns and k in statement_turns:
            scratch = Marks(set(marks.output), set(marks.changing))   # kept only if the statement is turned
            found = turns_inside(desc, res, k, s, events, scratch)
            if found is not None:
                in_statements[k] = found
                marks.output |= scratch.output
                marks.changing |= scratch.changing
                reason = None
        kinds.append("commit" if reason else "map")
        reasons.append(reason)
    output, changing = marks.frozen()
    return Classification(tuple(kinds), tuple(reasons), output, changing, res.guards(),
                          types.MappingProxyType(dict(marks.turns or {})), types.MappingProxyType(in_statements))


def _is_end(desc, s) -> bool:
    instrs = [ins for _, ins in desc.instrs(s)]
    return len(instrs) == 1 and instrs[0].name.startswith("JUMP") and \
        desc.flow.label_index[instrs[0].arg] == desc.loop.head
