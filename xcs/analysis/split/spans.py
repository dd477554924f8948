"""The geometry of hoisting: which item ranges of a statement are self-contained
expressions (`(start, stop)` spans), found from the stack depths `flow` computed."""
from __future__ import annotations

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion


def has_call(desc, start, stop) -> bool:
    return any(isinstance(item, Instr) and item.name in pyversion.CALLS for item in desc.items[start:stop])


def statement_calls(desc, st) -> bool:
    return any(isinstance(desc.items[i], Instr) and desc.items[i].name in pyversion.CALLS
               for i in range(st.start, st.stop))


def opens_try(desc, st) -> bool:
    """True when statement st opens a `try` (in a coroutine: other than an await's own)."""
    items = desc.items
    if desc.coroutine:
        # An await's own ranges and CLEANUP_THROW blocks are not a `try` statement.
        tries = [items[i] for i in range(st.start, st.stop) if isinstance(items[i], TryBegin)]
        only = pyversion.THROW_CLEANUPS | {"JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"}
        blocks = [(lo, hi) for lo, hi in st.handlers
                  if {x.name for x in items[lo:hi] if isinstance(x, Instr)} - only]
        return bool(blocks) or any(not await_range(desc, t) for t in tries)
    return bool(st.handlers) or any(isinstance(items[i], TryBegin) for i in range(st.start, st.stop))


def unconditional(desc, s, start: int, taken=()) -> bool:
    """True when items[start] runs exactly once whenever statement s runs: nothing
    before it in the statement jumps, is jumped to, or enters a `with` block (jumps
    inside expressions already hoisted, `taken`, run whole in the map part)."""
    for i in range(s.start, start):
        if any(lo <= i < hi for lo, hi in taken):
            continue
        item = desc.items[i]
        if isinstance(item, Label):
            return False
        if isinstance(item, Instr) and (isinstance(item.arg, Label) or
                                        item.name in ("BEFORE_WITH", "BEFORE_ASYNC_WITH")):
            return False
    return True


def condition_spans(desc, s) -> list:
    """(start, stop) of the test of the statement's first conditional jump (`if c: break`)."""
    for i in range(s.start, s.stop):
        item = desc.items[i]
        if isinstance(item, Instr) and item.name in pyversion.CONDITIONAL_JUMPS:
            depth = desc.flow.depth.get(i)
            if depth is None:
                return []
            return list(_slot_spans(desc, s, depth - 1, depth, i).values())
        if isinstance(item, Instr) and isinstance(item.arg, Label):
            return []
    return []


def operand_spans(desc, s, e) -> list:
    """(start, stop) of the expressions computing the operands of event e that may be
    hoisted: a call's arguments, a stored value and subscript key, an appended value,
    an assigned value, a `with` manager."""
    end = _group_start(desc, s, e.index)
    depth = desc.flow.depth.get(end)
    if depth is None:
        return []
    ins = desc.items[e.index]
    if e.op == "call":
        pops = 3 + (ins.arg & 1) if ins.name == "CALL_FUNCTION_EX" else \
            ins.arg + (3 if ins.name in pyversion.KEYWORD_CALLS else 2)
        wanted = [depth - pops + 2 + k for k in range(len(e.args))]
        lowest = depth - pops + 2
    elif e.op == "store-subscr":
        wanted, lowest = [depth - 3, depth - 1], depth - 3
    elif e.op == "store-attr":
        wanted, lowest = [depth - 2], depth - 2
    elif e.op == "append":
        wanted = [depth - len(e.args) + k for k in range(len(e.args))]
        lowest = min(wanted, default=depth)
    else:   # inplace (the right operand), store-local, enter
        wanted, lowest = [depth - 1], depth - 1
    return [span for slot, span in _slot_spans(desc, s, lowest, depth, end).items() if slot in wanted]


def sub_spans(desc, s, start: int, stop: int) -> list:
    """The operand expressions of the operation that ends items[start:stop], when it
    has no jumps: `d.get(x, 0)` and `fetch(x)` in `d.get(x, 0) + fetch(x)`."""
    if any(not isinstance(item, Instr) or isinstance(item.arg, Label) for item in desc.items[start:stop]):
        return []
    end = _group_start(desc, s, stop - 1)
    depth = desc.flow.depth.get(end)
    slot = desc.flow.depth.get(start)
    if depth is None or slot is None or end <= start:
        return []
    return [span for _, span in sorted(_slot_spans(desc, s, slot, depth, end).items())
            if span != (start, stop) and span[0] >= start]


def _group_start(desc, s, index: int) -> int:
    """index, moved back over the PRECALL / KW_NAMES (3.11, 3.12) that belong to it."""
    while index > s.start and isinstance(desc.items[index - 1], Instr) and \
            desc.items[index - 1].name in pyversion.CALL_PREFIXES:
        index -= 1
    return index


def _slot_spans(desc, s, lowest: int, depth: int, end: int) -> dict:
    """Stack slot -> (start, stop) of the self-contained expression that pushed it, for
    the slots lowest..depth-1 on the stack before items[end] (found from the top down:
    an expression starts where the stack last had its slot's depth, at a point no jump
    crosses — inside `a if c else b` the depth drops back after the condition)."""
    crossed = _crossed(desc, s)
    spans = {}
    stop = end
    for slot in range(depth - 1, lowest - 1, -1):
        start = None
        for j in range(stop - 1, s.start - 1, -1):
            item = desc.items[j]
            if not isinstance(item, Instr):
                continue
            d = desc.flow.depth.get(j)
            if d is None or d < slot:
                break
            if d == slot and j not in crossed:
                start = j
                break
        if start is None:
            break
        if _self_contained(desc, s, start, stop):
            spans[slot] = (start, stop)
        stop = start
    return spans


def _crossed(desc, s) -> set:
    """Item indices of statement s that a jump inside s passes over (`a if c else b`
    after its condition, a loop's body): no expression of the statement starts there.
    Jumps out of the statement (`continue`, the end of a `try`) merge nothing inside it."""
    crossed = set()
    for i in range(s.start, s.stop):
        item = desc.items[i]
        if not (isinstance(item, Instr) and isinstance(item.arg, Label)):
            continue
        t = desc.flow.label_index.get(item.arg)
        if t is not None and s.start <= t < s.stop:
            crossed.update(range(i + 1, t + 1) if t > i else range(t + 1, i + 1))
    return crossed


def _self_contained(desc, s, start: int, stop: int) -> bool:
    """True when items[start:stop] holds no try range, its jumps go forward to labels
    inside it, and nothing else in the statement jumps into it."""
    inside = set()
    coroutine = desc.coroutine
    for i in range(start, stop):
        item = desc.items[i]
        if isinstance(item, (TryBegin, TryEnd)):
            if not (coroutine and await_range(desc, item)):
                return False
        elif isinstance(item, Label):
            inside.add(item)
        elif not isinstance(item, Instr):
            return False
    for i in s.indices():
        item = desc.items[i]
        if not (isinstance(item, Instr) and isinstance(item.arg, Label)):
            continue
        t = desc.flow.label_index.get(item.arg)
        if start <= i < stop:
            if item.arg not in inside or (t <= i and not (coroutine and item.name == "JUMP_BACKWARD_NO_INTERRUPT")):
                return False
        elif item.arg in inside and not (coroutine and _closes_cleanup_block(desc, i)):
            return False
    return True


def await_range(desc, item) -> bool:
    """True for a try marker an `await` brings (3.12+): the range of its YIELD_VALUE, or a
    piece of the range around the loop that the await interrupts."""
    begin = item if isinstance(item, TryBegin) else item.entry
    if begin.target is desc.loop.outer_try:
        return True
    return _cleanup_block(desc, begin.target) is not None


def _closes_cleanup_block(desc, jump_index: int) -> bool:
    """True when the jump at items[jump_index] closes an out-of-line CLEANUP_THROW block
    (3.12+: an await's throw path, which jumps back to its END_SEND)."""
    k = jump_index - 1
    while k >= 0 and not isinstance(desc.items[k], Instr):
        k -= 1
    return k >= 0 and desc.items[k].name in pyversion.THROW_CLEANUPS


def _cleanup_block(desc, label):
    """(start, stop) of the out-of-line CLEANUP_THROW block at `label`, or None."""
    items = desc.items
    first = desc.flow.target(label)
    if first is None or items[first].name not in pyversion.THROW_CLEANUPS:
        return None
    stop = first + 1
    while stop < len(items) and not (isinstance(items[stop], Instr) and isinstance(items[stop].arg, Label)):
        stop += 1
    return desc.flow.label_index[label], stop + 1
