"""`async for` loops seen as `for` loops: the analysis reads them in the shape it knows.

An `async for x in source:` pulls each item with an await (CPython 3.11-3.13: `GET_AITER`
once; then at the head `GET_ANEXT`, `LOAD_CONST None`, a `SEND`/`YIELD_VALUE` loop, on
3.12+ `END_SEND`; the exhaustion arrives as `StopAsyncIteration` at the `END_ASYNC_FOR`
handler). Between pulls its body is a loop body like any other. `as_for_loops(items)`
returns the items with each such loop rewritten into the `for` shape (`GET_ITER`, head,
`FOR_ITER` to the exit label, the body, the exit) — placeholders that never run — and
`restore`, which maps each placeholder (by `id`) to the original items it stands for. The
transform puts the originals back (`restored`), so a variant always runs the user's header:
its loop pulls through the runner's async steps (`xcs.runtime.aio`), a loop left sequential
pulls from the source itself.

On 3.12+ the await of each pull and of each `await` in the body has an out-of-line
CLEANUP_THROW block, which CPython places between the body and `END_ASYNC_FOR`; the body's
blocks are moved to the end of the function (where a `for` loop's are), the pull's own
block stays with `END_ASYNC_FOR` (it jumps back into the header).

A loop whose shape is not this one is left as written (and refused, kind `async-for`).
"""
from __future__ import annotations

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion

__all__ = ["as_for_loops", "restored"]


def as_for_loops(items: list) -> tuple[list, dict]:
    """(items with every recognised `async for` in `for` shape, {id(placeholder): originals})."""
    restore: dict = {}
    moved: list = []
    i = 0
    while True:
        start = next((k for k in range(i, len(items))
                      if isinstance(items[k], Instr) and items[k].name == "GET_AITER"), None)
        if start is None:
            break
        rewritten = _rewrite(items, start, restore, moved)
        if rewritten is None:
            i = start + 1
            continue
        items = rewritten
        i = start + 1
    return items + moved, restore


def restored(items, restore: dict) -> list:
    """`items` with every placeholder replaced by the original items it stands for."""
    if not restore:
        return list(items)
    out = []
    for item in items:
        originals = restore.get(id(item))
        if originals is None:
            out.append(item)
        else:
            out += originals
    return out


def _instr(items, k, name) -> bool:
    return isinstance(items[k], Instr) and items[k].name == name


def _rewrite(items: list, g: int, restore: dict, moved: list):
    """The items with the `async for` whose GET_AITER is items[g] rewritten, or None."""
    n = len(items)
    head = g + 1
    while head < n and isinstance(items[head], TryEnd):
        head += 1
    if head >= n or not isinstance(items[head], Label):
        return None
    head_label = items[head]
    # The header: from the head to the pull's result (the label its SEND jumps to, then
    # END_SEND on 3.12+) and the range ends after it.
    first = head + 1
    if not (first < n and isinstance(items[first], TryBegin)):
        return None
    eaf_label = items[first].target
    k = first + 1
    if not _instr(items, k, "GET_ANEXT"):
        return None
    send = next((j for j in range(k, n) if _instr(items, j, "SEND")), None)
    if send is None or not isinstance(items[send].arg, Label):
        return None
    done = _index_of(items, items[send].arg)
    if done is None or done < send:
        return None
    stop = done + 1
    if stop < n and isinstance(items[stop], Instr) and items[stop].name in pyversion.SEND_ENDS:
        stop += 1
    while stop < n and isinstance(items[stop], TryEnd):
        stop += 1
    header = items[first:stop]
    if any(isinstance(x, Instr) and x.name not in _HEADER_OPS for x in header):
        return None
    cleanups = {x.target for x in header if isinstance(x, TryBegin) and x.target is not eaf_label}
    eaf = _index_of(items, eaf_label)
    if eaf is None or eaf <= stop:
        return None
    end_async = eaf + 1
    while end_async < n and isinstance(items[end_async], TryBegin):
        end_async += 1
    if not _instr(items, end_async, "END_ASYNC_FOR"):
        return None
    # The body's closing jump, and what lies between it and the handler.
    close = next((j for j in range(eaf - 1, stop - 1, -1)
                  if _instr(items, j, "JUMP_BACKWARD") and items[j].arg is head_label), None)
    if close is None:
        return None
    tail = close + 1
    while tail < eaf and isinstance(items[tail], TryEnd):
        tail += 1
    blocks = _cleanup_blocks(items, tail, eaf)
    if blocks is None:
        return None
    own = [b for b in blocks if items[b[0]] in cleanups]
    body_blocks = [b for b in blocks if items[b[0]] not in cleanups]
    if len(own) != len(cleanups):
        return None
    if any(isinstance(x, Instr) and x.name in ("GET_AITER",) for x in items[stop:close]):
        # An `async for` nested in the body: rewritten first, on its own, only when outermost
        # ones are done (this one is left as written and refused).
        return None

    loc = items[g].location
    fake_iter = Instr("GET_ITER", location=loc)
    restore[id(fake_iter)] = [items[g]]
    fake_for = Instr("FOR_ITER", eaf_label, location=items[head + 2].location if isinstance(items[head + 2], Instr) else loc)
    restore[id(fake_for)] = header
    cover = items[stop] if stop < n and isinstance(items[stop], TryBegin) else None
    opening: list = [fake_for]
    if cover is not None:
        begin = TryBegin(cover.target, cover.push_lasti, cover.stack_depth)
        end = TryEnd(begin)
        restore[id(begin)] = []
        restore[id(end)] = []
        opening = [begin, fake_for, end]
    # The exit: what an exhausted FOR_ITER skips, standing for END_ASYNC_FOR.
    exit_items: list = list(items[eaf + 1:end_async])
    own_items = [x for lo, hi in own for x in items[lo:hi]]
    restore[id(eaf_label)] = [*own_items, eaf_label]
    skipped = pyversion.for_exit_skipped(items[end_async].location)
    if skipped:
        restore[id(skipped[0])] = [items[end_async]]
        for extra in skipped[1:]:
            restore[id(extra)] = []
        exit_items += skipped
    else:
        restore[id(eaf_label)].append(items[end_async])
    for lo, hi in body_blocks:
        moved.extend(items[lo:hi])
    return [*items[:g], fake_iter, *items[g + 1:head + 1], *opening, *items[stop:tail],
            eaf_label, *exit_items, *items[end_async + 1:]]


_HEADER_OPS = {"GET_ANEXT", "LOAD_CONST", "SEND", "YIELD_VALUE", "RESUME", "JUMP_BACKWARD_NO_INTERRUPT"} \
    | pyversion.SEND_ENDS


def _index_of(items, label):
    for k, x in enumerate(items):
        if x is label:
            return k
    return None


def _cleanup_blocks(items, lo: int, hi: int):
    """The CLEANUP_THROW blocks that fill items[lo:hi] exactly, as (start, stop) ranges; None
    if anything else is there."""
    blocks = []
    k = lo
    while k < hi:
        if not isinstance(items[k], Label):
            return None
        start = k
        k += 1
        while k < hi and isinstance(items[k], (TryBegin, TryEnd)):
            k += 1
        if not (k < hi and isinstance(items[k], Instr) and items[k].name in pyversion.THROW_CLEANUPS):
            return None
        while k < hi and not (isinstance(items[k], Instr) and items[k].name.startswith("JUMP")):
            k += 1
        if k >= hi:
            return None
        k += 1
        while k < hi and isinstance(items[k], TryEnd):
            k += 1
        blocks.append((start, k))
    return blocks
