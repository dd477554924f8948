"""Progress bars: a loop over a tqdm bar pulls from the bar's iterable, and the bar counts
iterations as they complete, in order.

`for x in tqdm(xs):` iterates `tqdm.__iter__`, a generator that changes the bar at each
pull (`n`, a render every `miniters`/`mininterval`, `close()` in its `finally`). Pulling
items ahead through it would count items not yet done. So `find_bar(it)` recognises the
iterator a loop gets from a bar — the unstarted `__iter__` generator of a `tqdm.std.tqdm`
(or subclass: `tqdm.auto`, `tqdm.notebook`, `tqdm.asyncio`) whose `__iter__` is tqdm's own,
alone or as the only source of `enumerate(...)` or the first of `zip(...)` — and returns a
`Bar`: the iterator to pull items from instead (`iter(bar.iterable)`, rewrapped), and
`through(results)`, which runs the bar's own `__iter__` over the loop's results.

That `__iter__` runs on the calling thread, exactly as in the plain loop: when the result
of iteration k is requested (iteration k-1 is then complete and consumed), it counts one,
maybe renders, and asks for result k — which is when the runtime replays k's captured
output. When the results end it sets `n` and closes the bar in its `finally`; on a failure
in iteration k, a `break` or any early exit the consuming loop closes the generator, which
leaves `n == k` and closes the bar as the plain loop does. A disabled bar passes the
results through untouched. tqdm is never imported here: a bar exists only if it is.
"""
from __future__ import annotations

import inspect
import sys
import types
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """A loop over `bar`: pull items from `items`; deliver results through `through`."""

    bar: object
    items: object          # the iterator to pull the loop's items from

    def through(self, results):
        """An iterator of `results` as the plain loop's iteration of the bar would count them."""
        return _ticking(self.bar, results)


def find_bar(it) -> Bar | None:
    """The `Bar` a loop over `it` iterates, or None (no tqdm bar, or one wrapped in
    something XCS does not look through: the loop keeps its plain iteration)."""
    std = sys.modules.get("tqdm.std")
    if std is None:
        return None
    base = getattr(std, "tqdm", None)
    if not isinstance(base, type):
        return None
    kind = type(it)
    if kind is types.GeneratorType:
        bar = _bar_of(it, base)
        return _replacing(it, Bar(bar, iter(bar.iterable))) if bar is not None else None
    if kind is enumerate:
        inner, start = it.__reduce__()[1]
        bar = _bar_of(inner, base) if type(inner) is types.GeneratorType else None
        return _replacing(inner, Bar(bar, enumerate(iter(bar.iterable), start))) if bar is not None else None
    if kind is zip:
        reduced = it.__reduce__()
        sources = reduced[1]
        # Only the first of zip's sources: it is pulled once per attempt, the last included,
        # as the bar's counting assumes. A later one is not pulled once an earlier one ends.
        bar = _bar_of(sources[0], base) if sources and type(sources[0]) is types.GeneratorType else None
        if bar is None:
            return None
        rebuilt = zip(iter(bar.iterable), *sources[1:])
        if len(reduced) > 2:
            rebuilt.__setstate__(reduced[2])   # zip(..., strict=True)
        return _replacing(sources[0], Bar(bar, rebuilt))
    return None


def _replacing(gen, bar: Bar) -> Bar:
    """`bar`, once the bar's own generator it replaces is closed. It never started, so
    closing runs nothing; whoever else holds it (`g = iter(bar)`, `e = enumerate(...)`
    reused after the loop) then finds it exhausted, as after the plain loop."""
    gen.close()
    return bar


def _bar_of(gen, base):
    """The bar whose unstarted, tqdm-defined `__iter__` generator `gen` is, or None."""
    if gen.gi_code.co_name != "__iter__" or inspect.getgeneratorstate(gen) != inspect.GEN_CREATED:
        return None   # (the name first: any generator loop asks, reading its frame costs more)
    frame = gen.gi_frame
    bar = frame.f_locals.get("self") if frame is not None else None
    if bar is None or not isinstance(bar, base):
        return None
    method = inspect.getattr_static(type(bar), "__iter__", None)
    if not isinstance(method, types.FunctionType) or method.__code__ is not gen.gi_code:
        return None
    if not (method.__module__ or "").startswith("tqdm."):
        return None   # a subclass's own `__iter__`: what it does with `iterable` is unknown
    if getattr(bar, "iterable", None) is None:
        return None
    return bar


class _Feed:
    """The bar's `iterable` while its `__iter__` starts: hands it the loop's results.

    `__iter__` reads `self.iterable` once, at its first pull; the bar's real iterable is
    put back at that moment, before any result (or any worker) exists."""

    __slots__ = ("bar", "iterable", "results", "started")

    def __init__(self, bar, results):
        self.bar, self.iterable, self.results, self.started = bar, bar.iterable, results, False

    def __iter__(self):
        return self

    def __next__(self):
        if not self.started:
            self.started = True
            self.restore()
        return next(self.results)

    def restore(self):
        if self.bar.iterable is self:
            self.bar.iterable = self.iterable


def _ticking(bar, results):
    results = iter(results)
    feed = _Feed(bar, results)
    bar.iterable = feed
    try:
        counting = iter(bar)
        yield from counting
    finally:
        feed.restore()
        close = getattr(results, "close", None)
        if close is not None:
            close()   # cancel what is still in flight, as closing the runtime's iterator does
