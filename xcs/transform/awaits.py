"""The try ranges of a coroutine variant: its loops' abort handler and its awaits' cleanup.

A loop of an `async def` whose iterations run as tasks must not let an exception leave the
loop while tasks are in flight: the variant covers the loop (its commit part, and the
handler blocks of its commit statements) with a range of its own whose handler awaits
`abort(steps, exc)` and re-raises. CPython's exception table is flat (one handler per
instruction), so "covers" means: every range inside the loop that went to the handler
enclosing the loop (a user's `try` around it, or on 3.12+ the coroutine's own handler) goes
to the abort handler instead, and where the loop has no range (3.11, no enclosing `try`)
one is opened. The abort handler itself is covered by the enclosing range, so the
exception then goes where it went before.

Each `await` XCS generates holds a `pyversion.YieldPoint`: on 3.12+ its YIELD_VALUE has a
range of its own (to its CLEANUP_THROW block), which interrupts the range around it.

`place(items)` turns the markers of a built instruction list into TryBegin/TryEnd
items; the markers are `LoopStart(handler)`/`LoopEnd` (the loop proper) and
`Retarget(handler)`/`RetargetEnd` (out-of-line handler blocks that belong to the loop).
"""
from __future__ import annotations

from bytecode import Instr, Label, TryBegin, TryEnd

from xcs import pyversion


class LoopStart:
    """From here to `LoopEnd`, exceptions go to `handler` where they went to `enclosing`
    (the handler label of the range around the loop, or None) or nowhere."""

    __slots__ = ("handler", "enclosing")

    def __init__(self, handler, enclosing):
        self.handler, self.enclosing = handler, enclosing


class LoopEnd:
    """Closes the region `LoopStart` opened."""


class Retarget(LoopStart):
    """Like `LoopStart`, for an out-of-line handler block of the loop's in-order part."""


class RetargetEnd(LoopEnd):
    """Closes the region `Retarget` opened."""


def place(items: list) -> list:
    """`items` with the markers replaced by try ranges (see the module docstring)."""
    return _Placer().run(items)


class _Placer:
    """One pass over the items; `current` is the range open at the end of `out`."""

    def __init__(self):
        self.target = None         # the enclosing handler of the region we are in
        self.out: list = []
        self.current = None
        self.renamed: dict = {}    # original TryBegin -> the range that now stands for it
        self.handler = None        # the abort handler of the region we are in
        self.mine: set = set()     # ranges to `handler` opened here (not the user's)
        self.carried = None        # the range open when the region began, to reopen after it

    def open(self, begin) -> None:
        self.out.append(begin)
        self.current = begin

    def close(self) -> None:
        if self.current is not None:
            self.out.append(TryEnd(self.current))
            self.current = None

    def open_mine(self) -> None:
        mine = TryBegin(self.handler, False)
        self.mine.add(mine)
        self.open(mine)

    def run(self, items: list) -> list:
        for item in items:
            if isinstance(item, LoopStart):
                self.target = item.enclosing
                self.begin_region(item.handler)
            elif isinstance(item, LoopEnd):
                self.end_region()
            elif isinstance(item, TryBegin):
                self.try_begin(item)
            elif isinstance(item, TryEnd):
                self.try_end(item)
            elif isinstance(item, pyversion.YieldPoint):
                self.yield_point(item)
            else:
                self.out.append(item)
        self.close()
        return self.out

    def begin_region(self, handler) -> None:
        self.handler = handler
        current = self.current
        self.carried = None
        if current is None or current.target is self.target:
            if current is not None:
                self.carried = _original(self.renamed, current)
                self.close()
            self.open_mine()
            if self.carried is not None:
                self.renamed[self.carried] = self.current

    def end_region(self) -> None:
        """Close the region's range; the original range still open here (the enclosing one,
        re-opened inside the region) goes on to the handler it had."""
        if self.current in self.mine:
            self.close()
            c = self.carried
            if c is not None:
                again = TryBegin(c.target, c.push_lasti, c.stack_depth)
                self.renamed[c] = again
                self.open(again)
        self.handler, self.carried, self.target = None, None, None

    def try_begin(self, item) -> None:
        # Ranges are flat: a range still open here ended where this one begins (the TryEnd
        # of a range re-opened after an `await` sits in the await's cleanup block, which the
        # variant leaves out when the await moved into the loop body).
        self.close()
        if self.handler is not None:
            if self.target is not None and item.target is self.target:
                new = TryBegin(self.handler, False)
                self.mine.add(new)
                self.renamed[item] = new
                self.carried = item       # an enclosing range, open until its TryEnd
                self.open(new)
                return
        self.renamed[item] = item
        self.open(item)

    def try_end(self, item) -> None:
        entry = self.renamed.get(item.entry, item.entry)
        if self.handler is not None and item.entry is self.carried:
            self.carried = None          # the enclosing range ends here
        self.out.append(TryEnd(entry))
        self.current = None
        if self.handler is not None:
            self.open_mine()

    def yield_point(self, item) -> None:
        cover = self.current
        self.close()
        own = TryBegin(item.cleanup, False)
        self.out += [own, item.instr(), TryEnd(own)]
        if cover is not None:
            again = TryBegin(cover.target, cover.push_lasti, cover.stack_depth)
            if cover in self.mine:
                self.mine.add(again)
            _rename(self.renamed, cover, again)
            self.open(again)


def _original(renamed: dict, begin: TryBegin) -> TryBegin:
    """The original range `begin` stands for (itself if none)."""
    for key, value in renamed.items():
        if value is begin and key is not begin:
            return key
    return begin


def _rename(renamed: dict, old: TryBegin, new: TryBegin) -> None:
    """Every original range that `old` stood for (and `old` itself) is now `new`."""
    for key, value in list(renamed.items()):
        if value is old:
            renamed[key] = new
    renamed[old] = new


def covered(items: list, handler) -> list:
    """`items` inside a range to `handler` (None: left uncovered)."""
    if handler is None or not items:
        return list(items)
    begin = TryBegin(handler, False)
    return [begin, *items, TryEnd(begin)]


def abort_handler(label, abort, enclosing, location) -> list:
    """The handler the loop region goes to: stack `..., steps, exc` (the loop's iterator
    below the exception). Awaits `abort(steps, exc)`, then re-raises exc. Covered by the
    enclosing range, so the exception continues to the handler it would have reached."""
    inline, cleanup = pyversion.await_top(location)
    body = [*pyversion.push_callable(abort, location),
            Instr("COPY", 4, location=location), Instr("COPY", 4, location=location),
            *pyversion.call(2, location), *inline,
            Instr("POP_TOP", location=location), Instr("RERAISE", 0, location=location)]
    target = enclosing.target if enclosing is not None else None
    if enclosing is not None:
        begin = TryBegin(enclosing.target, enclosing.push_lasti, enclosing.stack_depth)
        body = [begin, *body, TryEnd(begin)]
    return [label, *body, *covered(cleanup, target)]


def cleanup_blocks(items, start: int, stop: int) -> list:
    """(lo, hi) item ranges of the CLEANUP_THROW blocks of the awaits in items[start:stop]
    (3.12+): the out-of-line code an await's throw path runs, ending with its jump back.

    A CLEANUP_THROW block CPython left in line (3.12+, after an inlined comprehension or an
    `async for` earlier in the function the compiler may not push it to the end: it falls
    through into the await's END_SEND) is part of items[start:stop] already: it is not a
    block of its own, and what follows it (the rest of the statement) is not either."""
    wanted = {item.target for item in items[start:stop] if isinstance(item, TryBegin)}
    blocks = []
    for lo, item in enumerate(items):
        if not isinstance(item, Label) or item not in wanted or start <= lo < stop:
            continue
        k = lo + 1
        while k < len(items) and not isinstance(items[k], Instr):
            k += 1
        if k >= len(items) or items[k].name not in pyversion.THROW_CLEANUPS:
            continue
        k += 1
        while k < len(items) and not isinstance(items[k], (Instr, Label)):
            k += 1
        if k >= len(items) or not (isinstance(items[k], Instr) and items[k].name.startswith("JUMP")):
            continue   # falls through: in line, not a block that moves with the await
        blocks.append((lo, k + 1))
    return blocks
