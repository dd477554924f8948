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
    original = items
    restore: dict = {}
    moved: list = []
    i = 0
    while True:
        start = next((k for k in range(i, len(items))
                      if isinstance(items[k], Instr) and items[k].name == "GET_AITER"), None)
        if start is None:
            break
        # Placeholders are known by `id`: a failed attempt's entries must not stay behind
        # (their objects die, and a later object may get the same id).
        mine: dict = {}
        out_of_line: list = []
        try:
            rewritten = _rewrite(items, start, mine, out_of_line)
        except Exception:  # noqa: BLE001 - a shape not foreseen: left as written
            rewritten = None
        if rewritten is not None:
            items = rewritten
            restore.update(mine)
            moved += out_of_line
        i = start + 1
    items = items + moved
    # What the transform puts back must be the original items, each once (only the places of
    # out-of-line blocks may differ): otherwise nothing is rewritten.
    back = restored(items, restore)
    if len(back) != len(original) or {id(x) for x in back} != {id(x) for x in original}:
        return list(original), {}
    return items, restore


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
    # The pull's CLEANUP_THROW block: out of line, or (3.12+, some layouts) inside the header.
    inside = {x for x in header if isinstance(x, Label)}
    cleanups = {x.target for x in header if isinstance(x, TryBegin) and x.target is not eaf_label} - inside
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
    if any(isinstance(x, Instr) and x.name == "GET_AITER" for x in items[stop:close]):
        # An `async for` nested in the body: this one is left as written (and refused); the
        # inner one is rewritten on its own.
        return None
    tail = close + 1
    while tail < n and isinstance(items[tail], TryEnd):
        tail += 1

    loc = items[g].location
    # The range around GET_AITER ends before the head (the header has ranges of its own);
    # a `for` loop's GET_ITER and FOR_ITER share theirs: the range goes on over FOR_ITER.
    ended = items[g + 1:head]
    fake_iter = Instr("GET_ITER", location=loc)
    restore[id(fake_iter)] = [items[g], *ended]
    # The loop's exit in `for` shape: a new label right after the body's closing jump, and
    # what an exhausted FOR_ITER skips there; none of it is in the code built from the items.
    exit_label = Label()
    fake_for = Instr("FOR_ITER", exit_label, location=items[k].location)
    restore[id(fake_for)] = header
    opening: list = [fake_for]
    for end in ended:
        again = TryEnd(end.entry)
        restore[id(again)] = []
        opening.append(again)
    skipped = pyversion.for_exit_skipped(items[end_async].location)
    for x in (exit_label, *skipped):
        restore[id(x)] = []
    before = [*items[:g], fake_iter, head_label, *opening, *items[stop:close + 1], exit_label, *skipped]

    blocks = _cleanup_blocks(items, tail, eaf) if tail <= eaf else None
    if blocks is not None:
        # The handler right after the body (and the awaits' cleanup blocks): END_ASYNC_FOR
        # falls through to the code after the loop, as the `for` exit does.
        own = [b for b in blocks if items[b[0]] in cleanups]
        if len(own) != len(cleanups):
            return None
        for lo, hi in blocks:
            if (lo, hi) not in own:
                moved.extend(items[lo:hi])
        restore[id(eaf_label)] = [*(x for lo, hi in own for x in items[lo:hi]), eaf_label]
        carrier = items[end_async - 1] if end_async - 1 > eaf else eaf_label
        restore[id(carrier)] = [*restore.get(id(carrier), [carrier]), items[end_async]]
        return [*before, *items[close + 1:tail], *items[eaf:end_async], *items[end_async + 1:]]
    # The handler out of line (an `async for` inside another loop: END_ASYNC_FOR, then the
    # jump to where the loop goes on). It stays where it is; the `for` exit jumps there too.
    after = end_async + 1
    while after < n and isinstance(items[after], TryEnd):
        after += 1
    if not (after < n and isinstance(items[after], Instr) and items[after].name in pyversion.UNCONDITIONAL_JUMPS):
        return None
    if not _falls_nowhere(items, eaf):
        return None
    jump = Instr(items[after].name, items[after].arg, location=items[after].location)
    restore[id(jump)] = []
    # The pull's own cleanup blocks jump into the header, which the `for` shape has not.
    rest = list(items[close + 1:])
    offset = close + 1
    for label in cleanups:
        lo = _index_of(items, label)
        found = _cleanup_blocks(items, lo, _block_end(items, lo)) if lo is not None and lo > close else None
        if not found:
            return None
        (b_lo, b_hi), = found
        placeholder = Instr("NOP", location=items[end_async].location)
        restore[id(placeholder)] = items[b_lo:b_hi]
        rest[b_lo - offset:b_hi - offset] = [placeholder] + [None] * (b_hi - b_lo - 1)
    return [*before, jump, *(x for x in rest if x is not None)]


def _falls_nowhere(items, k: int) -> bool:
    """True when nothing falls through into items[k] (the instruction before it ends its block)."""
    j = k - 1
    while j >= 0 and not isinstance(items[j], Instr):
        j -= 1
    return j < 0 or items[j].name in pyversion.TERMINATORS or items[j].name in pyversion.UNCONDITIONAL_JUMPS


def _block_end(items, lo: int) -> int:
    """The end of the cleanup block starting at items[lo]: past its jump and range ends."""
    k = lo + 1
    while k < len(items) and not (isinstance(items[k], Instr) and items[k].name.startswith("JUMP")):
        k += 1
    k += 1
    while k < len(items) and isinstance(items[k], TryEnd):
        k += 1
    return k


_HEADER_OPS = {"GET_ANEXT", "LOAD_CONST", "SEND", "YIELD_VALUE", "RESUME", "JUMP_BACKWARD_NO_INTERRUPT"} \
    | pyversion.SEND_ENDS | pyversion.THROW_CLEANUPS


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
