"""Turns inside a statement of the loop body: a statement that holds both the work and an
ordered effect (a retry loop that calls a model, then appends to a file and to a shared
list) runs in the map part with `take_turn()` called before each line holding an effect.

`statement_turns(desc, res, k, s, events)` returns `StatementTurns` — where the turns go
(`points`, item indices of the body), what the parts after them write and what the parts
before them read — or None when a turn cannot make the statement exact: an effect that
answers for the thread that runs it, an import or namespace instruction, a `break`/`return`
out of the loop, an `await`, a store into a closure variable. Whether the rest of the loop may run before the turn is
`turned.check`'s question, as for callee turns.
"""
from __future__ import annotations

from dataclasses import dataclass

from bytecode import Instr

from xcs import pyversion
from xcs.analysis.callee_turns import run_start
from xcs.analysis.split.changes import mutated_receivers
from xcs.analysis.split.effect import Marks, event_reason, thread_local_load

TURNABLE = frozenset({"commit:global", "commit:nonlocal", "commit:store", "commit:ordered",
                      "commit:ordered-callee", "commit:outer-call", "commit:unknown-call"})
_REFUSED_INSTRUCTIONS = frozenset({"IMPORT_NAME", "IMPORT_FROM", "SETUP_ANNOTATIONS", "STORE_NAME", "LOAD_NAME",
                                   "DELETE_NAME", *pyversion.NAMESPACE_LOADS})


@dataclass(frozen=True)
class StatementTurns:
    """`points` sorted body item indices before which `take_turn()` is called; `covered` the
    indices that run after a turn; `writes` keys of what the parts after a turn change
    (`turned` keys); `unknown` some effect is not seen to the bottom; `filesystem` it may
    change the file system; `words` the reasons the statement was in order for."""

    points: tuple
    covered: frozenset
    writes: frozenset
    unknown: bool
    filesystem: bool
    words: tuple


def statement_turns(desc, res, k: int, s, events, marks: Marks) -> StatementTurns | None:
    """`marks`: the classification's; the output and changing marks found here join them."""
    if s.exits or desc.coroutine:
        return None
    globals_id = id(desc.env.globals)
    at, writes, words = [], set(), []
    for i, ins in desc.instrs(s):
        if ins.name in _REFUSED_INSTRUCTIONS:
            return None
        if ins.name in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            at.append(i)
            writes.add(("global", globals_id, ins.arg))
        elif ins.name in ("STORE_DEREF", "DELETE_DEREF") or \
                (ins.name in ("STORE_FAST", "DELETE_FAST") and ins.arg in desc.cellvars):
            return None   # the loop body would have to carry the cell: not supported
    if thread_local_load(desc, (i for i, _ in desc.instrs(s))) is not None:
        return None
    marks = Marks(marks.output, marks.changing)   # turns None: calls inside keep their callees' reasons
    unknown = filesystem = False
    roots = set()   # the names the events with effects work on
    for e in events:
        reason = event_reason(desc, res, e, marks)
        if reason is None:
            continue
        if reason.kind not in TURNABLE:
            return None
        at.append(e.index)
        words.append(reason)
        roots.update(v.name for v in (e.target, *e.args) if v is not None and v.name)
        if reason.kind in ("commit:ordered", "commit:ordered-callee", "commit:unknown-call"):
            filesystem = True
            unknown = unknown or reason.kind in ("commit:unknown-call", "commit:ordered-callee")
    if not at:
        return None
    lows = [lo for lo, _ in s.handlers] + [s.start]
    points, covered = set(), set()
    for i in at:
        floor = max(lo for lo in lows if lo <= i)
        start = max(run_start(desc.items, i), floor)
        while start < i and not isinstance(desc.items[start], Instr):
            start += 1
        points.add(start)
        covered.update(range(start, i + 1))
    first = min(points)
    if not any(e.op == "call" and e.index < first and e.target is not None and
               (e.target.kind in ("global", "deref", "local") or e.target.chain) for e in events):
        return None   # no work before the first turn: the statement is better in order (its arguments hoisted)
    kinds = ["map"] * len(desc.raw)
    kinds[k] = "commit"
    for kind, name, _, _ in mutated_receivers(desc, res, kinds, statements=[k]):
        if name not in roots or (kind == "local" and desc.per_iteration(name)):
            continue   # changed before the turn: the iteration's own objects only
        if kind == "global":
            writes.add(("global", globals_id, name))
        elif kind == "deref":
            writes.add(("cell", name))
        else:
            writes.add(("local", name))
    return StatementTurns(tuple(sorted(points)), frozenset(covered), frozenset(writes), unknown, filesystem,
                          tuple(words))
