"""Find the `for` loops of a function and the instructions that belong to each.

A loop is a `FOR_ITER` reached through a label (the head), with its exit label as the jump
target. Its body is every item between `FOR_ITER` and the exit label, plus the exception
handlers of try statements in it that CPython 3.12+ places after the function's `return`.
"""
from __future__ import annotations

from dataclasses import dataclass

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion
from xcs.analysis.flow import Flow


@dataclass(frozen=True)
class LoopShape:
    """Where one loop lives in the instruction list (item indices)."""

    for_iter: int
    head: int             # index of the head label
    exit: int             # index of the exit label
    iter_insert: int      # the iterator is on top of the stack after this item
    handlers: tuple       # out-of-line handler blocks: ((start, stop), ...)
    outer_try: object     # handler label of a try range enclosing the whole loop, or None

    def is_outer_marker(self, item) -> bool:
        """True for TryBegin/TryEnd items that only continue a try range around the loop
        (3.12+ inline comprehensions re-open theirs around each jump)."""
        if self.outer_try is None:
            return False
        if isinstance(item, TryBegin):
            return item.target is self.outer_try
        if isinstance(item, TryEnd):
            return item.entry.target is self.outer_try
        return False

    @property
    def body(self) -> range:
        return range(self.for_iter + 1, self.exit)


# Items allowed between the instruction that makes the iterator and the loop head
# (3.12+ inline comprehensions save the target variable and build the result there).
ITER_SHUFFLE = {"SWAP", "BUILD_LIST", "BUILD_SET", "BUILD_MAP", "NOP"} | pyversion.COMPREHENSION_SAVES


def find_loops(flow: Flow) -> list[LoopShape]:
    """Every `for` loop whose iterator comes from `GET_ITER` (or a 3.11 comprehension's `.0`)."""
    items = flow.items
    loops = []
    coroutine_handler = _coroutine_handler(flow)
    for i, item in enumerate(items):
        if not (isinstance(item, Instr) and item.name == "FOR_ITER"):
            continue
        head = _previous_label(items, i)
        if head is None:
            continue
        insert = _iterator_source(items, head, coroutine_handler)
        if insert is None:
            continue
        exit_index = flow.label_index[item.arg]
        if exit_index <= i:
            continue
        outer = flow.try_begin_of.get(i)
        outer_try = outer.target if outer is not None else None
        loops.append(LoopShape(i, head, exit_index, insert, _handler_blocks(flow, i + 1, exit_index, outer_try, coroutine_handler),
                               outer_try))
    return loops


def _previous_label(items, i):
    j = i - 1
    while j >= 0 and not isinstance(items[j], Instr):
        if isinstance(items[j], Label):
            return j
        j -= 1
    return None


def _iterator_source(items, head, coroutine_handler=None):
    j = head - 1
    while j >= 0:
        item = items[j]
        if isinstance(item, Instr):
            if item.name == "GET_ITER":
                return j
            if item.name == "LOAD_FAST" and item.arg == ".0":
                return j
            if item.name not in ITER_SHUFFLE:
                return None
        elif isinstance(item, TryEnd):
            # 3.12+ inline comprehensions in a coroutine: the coroutine's own range ends where
            # the comprehension's cleanup range begins.
            if coroutine_handler is None or items.index(item.entry) > j or \
                    _label_target(items, item.entry.target) != coroutine_handler:
                return None
        j -= 1
    return None


def _label_target(items, label):
    k = items.index(label)
    while k < len(items) and not isinstance(items[k], Instr):
        k += 1
    return k


def _coroutine_handler(flow: Flow):
    """The index of a coroutine's own handler, which CPython 3.12+ wraps around its whole
    body (it turns a StopIteration into RuntimeError): it belongs to no loop. None otherwise."""
    items = flow.items
    first = flow.next_instr(0)
    # A coroutine with cells or free variables makes them first (MAKE_CELL, COPY_FREE_VARS).
    while first is not None and items[first].name in ("MAKE_CELL", "COPY_FREE_VARS"):
        first = flow.next_instr(first + 1)
    if first is None or items[first].name != "RETURN_GENERATOR":
        return None
    for item in items[first:]:
        if isinstance(item, TryBegin):
            return flow.target(item.target)
        if isinstance(item, Instr) and item.name == "RESUME":
            return None
    return None


def _handler_blocks(flow: Flow, start: int, stop: int, outer_try, coroutine_handler=None) -> tuple:
    """Item ranges of handler code reachable from try statements in items[start:stop] but
    located outside it (the handler of a try range around the whole loop excluded, and a
    coroutine's own handler, which an `await`'s cleanup code leads to)."""
    items = flow.items
    seeds = [flow.target(items[k].target) for k in range(start, stop)
             if isinstance(items[k], TryBegin) and items[k].target is not outer_try]
    reached: set = set()
    # Jumps back to FOR_ITER (continue) or to the exit (break) leave the handler code.
    boundary = {start - 1, flow.next_instr(stop), coroutine_handler}
    if coroutine_handler is not None and outer_try is not None:
        # In a coroutine an await's CLEANUP_THROW block leads to the handler around the loop
        # (a `try` around it, an inline comprehension's cleanup): that handler is not the loop's.
        boundary.add(flow.target(outer_try))
    work = [s for s in seeds if s is not None and not (start <= s < stop)]
    while work:
        i = work.pop()
        if i in reached or start <= i < stop or i in boundary:
            continue
        reached.add(i)
        work.extend(j for j, _ in flow.succ.get(i, ()))
    blocks = []
    for i in sorted(reached):
        lo = i
        while lo - 1 >= 0 and isinstance(items[lo - 1], (Label, TryBegin)):
            lo -= 1
        hi = i + 1
        while hi < len(items) and isinstance(items[hi], TryEnd):
            hi += 1
        if blocks and (lo < blocks[-1][1] or (lo == blocks[-1][1] and not _starts_anew(items, lo))):
            blocks[-1] = (blocks[-1][0], max(hi, blocks[-1][1]))
        else:
            blocks.append((lo, hi))
    return tuple(blocks)


def _starts_anew(items, lo: int) -> bool:
    """True when items[lo] is a label right after an instruction that never falls through:
    handler code that only a jump or the exception table reaches (3.12+ puts the cleanup
    handlers of two inline comprehensions of one statement list back to back)."""
    if not isinstance(items[lo], Label):
        return False
    j = lo - 1
    while j >= 0 and not isinstance(items[j], Instr):
        j -= 1
    return j >= 0 and (items[j].name in pyversion.TERMINATORS or items[j].name in pyversion.UNCONDITIONAL_JUMPS)
