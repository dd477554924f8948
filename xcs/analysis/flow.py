"""Control flow of a normalized instruction list: successors, stack depths, definite assignment.

Pure functions of the instruction list; nothing is executed. Exception edges go from each
instruction covered by a try range to its handler, as CPython's exception table does.
"""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion


class FlowError(Exception):
    """The instruction list has a shape the analysis does not understand."""


@dataclass
class Flow:
    """Successors and entry stack depth of every instruction (by item index)."""

    items: list
    label_index: dict        # Label -> item index
    succ: dict               # instr index -> list of (instr index, stack depth on entry)
    depth: dict              # instr index -> stack depth before it
    handler_of: dict         # instr index -> handler instr index (exception edge)
    try_begin_of: dict       # instr index -> covering TryBegin

    def next_instr(self, index: int) -> int | None:
        """The first instruction at or after item `index`."""
        for j in range(index, len(self.items)):
            if isinstance(self.items[j], Instr):
                return j
        return None

    def target(self, label: Label) -> int | None:
        """The instruction a jump to `label` lands on."""
        return self.next_instr(self.label_index[label])


def _is_jump(instr: Instr) -> bool:
    return isinstance(instr.arg, Label)


def build_flow(items: list) -> Flow:
    """Compute successors and stack depths for `items` (entry depth 0 at the first instruction)."""
    label_index = {item: i for i, item in enumerate(items) if isinstance(item, Label)}
    flow = Flow(items, label_index, {}, {}, {}, {})
    current_try = None
    for i, item in enumerate(items):
        if isinstance(item, TryBegin):
            current_try = item
        elif isinstance(item, TryEnd):
            current_try = None
        elif isinstance(item, Instr) and current_try is not None:
            flow.try_begin_of[i] = current_try
    first = flow.next_instr(0)
    if first is None:
        return flow
    work = [(first, 0)]
    while work:
        i, d = work.pop()
        if i in flow.depth:
            if flow.depth[i] != d:
                raise FlowError(f"stack depth {flow.depth[i]} vs {d} at instruction {i}")
            continue
        flow.depth[i] = d
        instr = items[i]
        out = []
        tb = flow.try_begin_of.get(i)
        if tb is not None:
            # `normalize` filled in stack_depth from the exception table's rules.
            h = flow.target(tb.target)
            flow.handler_of[i] = h
            out.append((h, tb.stack_depth + (1 if tb.push_lasti else 0) + 1))
        name = instr.name
        if name in pyversion.TERMINATORS:
            pass
        elif _is_jump(instr):
            out.append((flow.target(instr.arg), d + instr.stack_effect(jump=True)))
            if name not in pyversion.UNCONDITIONAL_JUMPS:
                out.append((flow.next_instr(i + 1), d + instr.stack_effect(jump=False)))
        elif name == "RETURN_GENERATOR":
            # A coroutine's first instruction: the value sent on its first resumption is on
            # the stack after it (the POP_TOP that follows drops it); `bytecode` says 0.
            out.append((flow.next_instr(i + 1), d + 1))
        else:
            out.append((flow.next_instr(i + 1), d + instr.stack_effect(jump=False)))
        flow.succ[i] = [(j, dj) for j, dj in out if j is not None]
        work.extend(flow.succ[i])
    return flow


def local_effect(instr: Instr) -> tuple[str | None, str | None]:
    """(name read, name written-or-deleted) of a fast-local instruction, else (None, None)."""
    if instr.name in pyversion.LOCAL_LOADS:
        return instr.arg, None
    if instr.name in pyversion.LOCAL_STORES:
        return None, instr.arg
    return None, None


def definitely_assigned(flow: Flow, entry: int, initial: frozenset, stop_at: set = frozenset(),
                        nodes: set | None = None) -> "Mapping[int, AbstractSet[str]]":
    """Forward must-analysis: for each reachable instruction, the locals certainly bound before it.

    Starts at `entry` with `initial`; does not follow edges into `stop_at`; stays inside
    `nodes` when given. Returns {instr index: set of names} (read-only set views).

    The sets are bit masks over the function's names: a frozenset per instruction made the
    analysis of a body with many locals quadratic (each STORE_FAST copied the whole set).
    """
    bits: dict = {}

    def bit(name) -> int:
        b = bits.get(name)
        if b is None:
            b = bits[name] = 1 << len(bits)
        return b

    start = 0
    for name in initial:
        start |= bit(name)
    ins: dict = {entry: start}
    work = [entry]
    while work:
        i = work.pop()
        state = ins[i]
        instr = flow.items[i]
        after = state
        if instr.name in ("STORE_FAST",):
            after = state | bit(instr.arg)
        elif instr.name == "DELETE_FAST" or instr.name in pyversion.COMPREHENSION_SAVES:
            after = state & ~bit(instr.arg)
        for j, _ in flow.succ.get(i, ()):
            if j in stop_at or (nodes is not None and j not in nodes):
                continue
            incoming = state if flow.handler_of.get(i) == j else after
            if j not in ins:
                ins[j] = incoming
                work.append(j)
            else:
                merged = ins[j] & incoming
                if merged != ins[j]:
                    ins[j] = merged
                    work.append(j)
    return _Assigned(ins, bits)


class _Assigned(Mapping):
    """{instr index: names bound there}, from `definitely_assigned`'s bit masks."""

    def __init__(self, masks: dict, bits: dict):
        self._masks, self._bits = masks, bits

    def __getitem__(self, index):
        return _Names(self._masks[index], self._bits)

    def __iter__(self):
        return iter(self._masks)

    def __len__(self):
        return len(self._masks)


class _Names(AbstractSet):
    """A read-only set of names: a bit mask over `bits` (name -> bit)."""

    def __init__(self, mask: int, bits: dict):
        self._mask, self._bits = mask, bits

    def __contains__(self, name):
        b = self._bits.get(name)
        return b is not None and bool(self._mask & b)

    def __iter__(self):
        return (name for name, b in self._bits.items() if self._mask & b)

    def __len__(self):
        return self._mask.bit_count()
