"""Pass: the `Statement`s of the split, with the argument expressions of in-order
statements that may run in the map part instead (`results.append(fetch(x))` fetches in
parallel and appends in order).

Hoisting reads the split (`propagate.Split`) and judges each candidate expression with the
same rules as a statement (`effect`, `dependencies`); those rules find more captured-output
and file-system-changing calls, which this pass collects in its own `Marks`, starting from
the classification's, and returns.
"""
from __future__ import annotations

import types
from dataclasses import dataclass, replace

from bytecode import Instr

from xcs import pyversion
from xcs.analysis import aio_blocks
from xcs.analysis.facts import Hoist, Statement
from xcs.analysis.refusal import Refusal
from xcs.analysis.split import spans
from xcs.analysis.split.changes import synchronizes
from xcs.analysis.split.dependencies import callee_reads_reason, may_output_in_order, read_reason
from xcs.analysis.split.effect import Marks, enter_reason, event_reason, thread_local_load
from xcs.analysis.split.resolve import Resolver
from xcs.analysis.stack import simulate

PURE_OPS = {*pyversion.LOCAL_READS, "LOAD_CONST", "LOAD_GLOBAL", "LOAD_DEREF", *pyversion.ATTR_LOADS,
            "PUSH_NULL", *pyversion.CALL_PREFIXES, *pyversion.CALLS,
            "BINARY_OP", "BINARY_SUBSCR", *pyversion.SLICE_LOADS, "COMPARE_OP", "IS_OP", "CONTAINS_OP",
            "UNARY_NEGATIVE", "UNARY_NOT", "UNARY_INVERT", *pyversion.BOOL_CONVERSIONS, "BUILD_LIST", "BUILD_TUPLE",
            "BUILD_MAP", "BUILD_SET", "BUILD_STRING", "BUILD_SLICE", "BUILD_CONST_KEY_MAP",
            "LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE", *pyversion.FORMATS,
            *pyversion.CONVERSIONS, *pyversion.UNARY_INTRINSICS, "NOP",
            "LOAD_SMALL_INT", "COPY_FREE_VARS"}

# An `await` inside a hoisted argument (`results.append(await fetch(x))`), in a coroutine: the
# send loop jumps back to its SEND, and on 3.12+ its YIELD_VALUE has a try range of its own.
AWAIT_OPS = pyversion.AWAIT_STEPS | {"RESUME", "JUMP_BACKWARD_NO_INTERRUPT"}

# Branches inside one expression (`a if c else b`, `a or b`): hoisted only whole, with every
# jump going forward inside it (`spans._self_contained`).
BRANCH_OPS = pyversion.CONDITIONAL_JUMPS | {"JUMP_FORWARD", "JUMP", "COPY", "POP_TOP", "NOP"}


@dataclass(frozen=True)
class Hoisting:
    """The loop's `statements`, the `notes` on what could not be hoisted, and the event
    marks (`effect.Marks`) as hoisting left them."""

    statements: tuple
    notes: tuple
    output: frozenset
    changing: frozenset
    guards: types.MappingProxyType


class _Hoister:
    """One run of the pass: the description, the split, and the pass's own resolver and marks."""

    def __init__(self, desc, split, classification):
        self.desc, self.split = desc, split
        self.res = Resolver(desc)
        self.marks = Marks(set(classification.output), set(classification.changing))
        # The split's view of the in-order part, with the marks as this pass grows them.
        self.state = replace(split.state, output=self.marks.output, changing=self.marks.changing)

    def run(self) -> Hoisting:
        desc, kinds, reasons = self.desc, self.split.kinds, self.split.reasons
        out, notes = [], []
        hoist_count = 0
        skipped = False
        for k, (s, events) in enumerate(zip(desc.raw, desc.events)):
            writes = tuple(sorted(desc.writes(s)))
            hoists = ()
            why = () if reasons[k] is None else (reasons[k],)
            if kinds[k] == "commit" and not skipped:
                hoists, hoist_count = self.hoists(s, events, hoist_count, notes)
            if kinds[k] == "commit":
                skipped = skipped or s.skips or bool(s.exits) or \
                    synchronizes(desc, self.res, k, self.marks.changing) is not None
            out.append(Statement(s.start, s.stop, kinds[k], s.line, writes, s.skips, tuple(s.handlers),
                                 hoists, why, tuple(s.exits)))
        statements = _last_stage_in_try(desc, out, notes)
        output, changing = self.marks.frozen()
        return Hoisting(tuple(statements), tuple(notes), output, changing, self.res.guards())

    def hoists(self, s, events, count, notes):
        desc = self.desc
        hoists = []
        taken: list = []
        for e in events:
            if e.op == "call" and not e.discarded:
                continue
            if e.op not in ("call", "store-subscr", "store-attr", "inplace", "append", "store-local", "store-cell",
                            "enter"):
                continue
            # A `with` in the in-order part: its manager expression (`urlopen(url)`) may run
            # in the map part, like the value of an in-order assignment.
            if e.op == "enter" and (aio_blocks.is_async_enter(desc, self.res, e)
                                    or enter_reason(desc, self.res, e, None) is not None):
                continue   # a manager that swaps process-wide state (its block is the point), or an async one
            if e.op == "store-cell" and e.args[0] in desc.shared_cells:
                continue   # a nonlocal: functions the work calls may read it before the store
            for span in spans.operand_spans(desc, s, e):
                self.hoist(s, span, taken, notes)
        if s.exits:
            # `if probe(m).ok: break`: the test that decides whether to leave runs in the map part.
            for span in spans.condition_spans(desc, s):
                self.hoist(s, span, taken, notes)
        taken.sort()
        for start, stop in taken:
            hoists.append(Hoist(start, stop, f"__xcs_h{count}"))
            count += 1
        return tuple(hoists), count

    def hoist(self, s, span, taken, notes) -> None:
        """Hoist items[start:stop] into the map part, or else the self-contained call
        expressions inside it that may run there (`d[x] = d.get(x, 0) + fetch(x)`: `d.get`
        reads what the statement writes, `fetch(x)` does not), recursively."""
        desc = self.desc
        start, stop = span
        if any(a < stop and start < b for a, b in taken) or not spans.has_call(desc, start, stop):
            return
        why = self.refusal(start, stop) or self.output_order(s, start, stop)
        if why is None:
            if spans.unconditional(desc, s, start, taken):
                taken.append(span)
            return
        before = len(taken)
        for sub in spans.sub_spans(desc, s, start, stop):
            self.hoist(s, sub, taken, [])
        if len(taken) == before and why not in notes:
            notes.append(why)

    def output_order(self, s, start: int, stop: int) -> Refusal | None:
        """A hoisted expression whose callees print runs before the whole in-order part: only
        when nothing in order before it — earlier statements, or earlier calls of its own
        statement — may print first."""
        desc = self.desc
        if not any(start <= i < stop for i in self.marks.output):
            return None
        k = next(j for j, raw in enumerate(desc.raw) if raw.start == s.start)
        for j in range(1, k):
            if may_output_in_order(desc, j, self.split.kinds, self.state):
                return Refusal("commit:output-order", s.line, desc.raw[j].line)
        if any(isinstance(desc.items[i], Instr) and desc.items[i].name in pyversion.CALLS
               for i in range(s.start, start)):
            return Refusal("commit:output-order", s.line, s.line)
        return None

    def refusal(self, start, stop) -> Refusal | None:
        """Why the argument expression items[start:stop] cannot run in the map part, or None."""
        desc, state = self.desc, self.state
        instrs = desc.items[start:stop]
        awaits = AWAIT_OPS if desc.coroutine else ()
        for ins in instrs:
            if not isinstance(ins, Instr):
                continue   # the labels of a conditional expression or a short-circuit
            if ins.name not in PURE_OPS and ins.name not in BRANCH_OPS and ins.name not in awaits:
                return Refusal("commit:instruction", ins.lineno, ins.name)
        reason = read_reason(desc, _loads(desc.items, start, stop), state.commit_fast, state.commit_names, state)
        if reason is not None:
            return reason
        found = thread_local_load(desc, range(start, stop))
        if found is not None:
            return found
        events = simulate(desc.items, start, stop, 0, {})
        for e in events:
            reason = event_reason(desc, self.res, e, self.marks)
            if reason is not None:
                return reason
        return callee_reads_reason(desc, self.res, events, self.split.kinds, state)


def hoist(desc, split, classification) -> Hoisting:
    return _Hoister(desc, split, classification).run()


def _loads(items, start: int, stop: int) -> list:
    """(index, name, "global" | "deref" | "fast") of each variable load in items[start:stop]."""
    found = []
    for i in range(start, stop):
        ins = items[i]
        if not isinstance(ins, Instr):
            continue
        if ins.name == "LOAD_GLOBAL":
            found.append((i, pyversion.global_name(ins), "global"))
        elif ins.name == "LOAD_DEREF":
            found.append((i, pyversion.deref_name(ins.arg), "deref"))
        elif ins.name in pyversion.LOCAL_READS:
            found.append((i, ins.arg, "fast"))
    return found


def _last_stage_in_try(desc, statements, notes):
    """Keep hoists inside a `try` only when nothing of the map part follows them.

    A hoisted call that raises is re-raised where it stood, so the statement's own
    `except` catches it on the calling thread; the iteration's work stopped at that
    failure, so no later map value would exist for the code after the handler.
    """
    out = list(statements)
    work_after = [False] * len(out)   # some later statement is map or hoists
    for k in range(len(out) - 2, -1, -1):
        later = out[k + 1]
        work_after[k] = work_after[k + 1] or later.kind == "map" or bool(later.hoists)
    for k, st in enumerate(out):
        if not st.hoists or not spans.opens_try(desc, st):
            continue
        if work_after[k]:
            out[k] = replace(st, hoists=())
            why = Refusal("commit:hoist-in-try", st.line, "")
            if why not in notes:
                notes.append(why)
    return out
