"""`ordered_map`: run a loop body on a shared pool, a bounded window ahead, results in order."""
from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextvars import copy_context

from xcs.config import settings
from xcs.runtime.inline import _inline
from xcs.runtime.pools import is_worker_thread, pool
from xcs.runtime.tracebacks import hide, trimmed

# How long the calling thread blocks on one result before looking at pending signals.
# A signal (Ctrl-C, `_thread.interrupt_main()`) that is not delivered to the calling
# thread itself does not interrupt a blocked lock acquire (CPython 3.11-3.13), so an
# unbounded wait would only raise KeyboardInterrupt once the body finishes.
_POLL_SECONDS = 0.05


def ordered_map(
    body: Callable,
    iterable: Iterable,
    args: tuple = (),
    *,
    max_workers: int | None = None,
    window: int | None = None,
) -> Iterator[tuple]:
    """Run `body(item, *args)` for the items of `iterable` on a thread pool; yield results in order.

    `iter(iterable)` is called at once on the calling thread (a non-iterable raises
    TypeError here, as a `for` statement would), and an iterator is returned. Each call of
    its `__next__` first pulls items from the iterable, on the calling thread and in order,
    until `window` iterations are in flight (submitted but not yet yielded), then waits
    for the oldest one and yields its result. Items are never pulled further ahead.

    Concurrency is at most `max_workers` (default `xcs.config.settings().max_workers`) and
    at most `window` (default: the concurrency). Each item runs on a thread of the shared
    pool of that size, inside a `contextvars.copy_context()` taken on the calling thread
    when the item is submitted. `body` returns a tuple whose slot 0 is None; these tuples
    are yielded unchanged, in iteration order.

    Failure: if `body` raised `e` for iteration k and iterations before k succeeded, then
    after the results of 0..k-1 the iterator yields the 1-tuple `(e,)`, with
    `e.__traceback__` starting at `body`'s frame, and is exhausted afterwards. The earliest
    failing iteration wins, whatever order failures happen in. No further item is pulled;
    tasks submitted but not started are cancelled and never call `body`; running ones are
    not waited for. `BaseException`s raised by `body` (SystemExit, ...) are treated alike.

    If pulling from the iterable raises `e`, the results of all earlier items are yielded
    first, then `(e,)`, then exhaustion. `KeyboardInterrupt` is the exception: raised while
    pulling or while waiting for a result, it cancels the tasks not started and propagates
    out of `__next__` at once; the iterator is exhausted afterwards. Closing the iterator
    (`close()`, garbage collection, the consuming loop exiting) cancels the tasks not
    started.

    Called on one of XCS's own worker threads (a parallel loop inside a body), the loop
    runs inline on that thread, sequentially, with the same protocol (see `run_inline`),
    so nested loops neither deadlock nor multiply threads. If the pool cannot start a
    thread (RuntimeError from `submit`), the remaining items run inline, still in order.

    Raises ValueError at once if `max_workers` or `window` is given and not a positive int.
    """
    workers = settings().max_workers if max_workers is None else _positive("max_workers", max_workers)
    window = workers if window is None else _positive("window", window)
    it = iter(iterable)
    if is_worker_thread():
        return _inline(body, it, args)
    return _ordered(body, it, args, workers, window)


def _positive(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class _Limit:
    """Iterations with an index at or past `end` must not call the body (shared with workers)."""

    __slots__ = ("end",)

    def __init__(self):
        self.end = sys.maxsize


def _run_item(context, body, item, args, index, limit):
    """Worker side of one iteration: `body(item, *args)` inside `context`.

    Skipped when an earlier-submitted iteration already failed: its result can never be
    yielded, and sequential code would never have run it."""
    if index >= limit.end:
        return None  # never waited for: the calling thread stops at the failed iteration
    try:
        return context.run(body, item, *args)
    except BaseException:
        if index < limit.end:
            # Not atomic: a racing failure may leave a larger end. That only lets some
            # doomed iterations run; none that could be yielded is ever skipped.
            limit.end = index + 1
        raise


def _ordered(body, it, args, workers, window):
    """The generator behind `ordered_map` on the calling thread."""
    submit = pool(workers).submit
    in_flight = deque()           # futures of submitted, not yet yielded iterations, in order
    limit = _Limit()
    index = 0
    pulling = True
    source_error = None
    fallback = None               # (item,) that could not be submitted: run it and the rest inline
    try:
        while True:
            while pulling and len(in_flight) < window:
                try:
                    item = next(it)
                except StopIteration:
                    pulling = False
                    break
                except KeyboardInterrupt:
                    raise
                except BaseException as error:  # noqa: BLE001 - delivered in order as (e,)
                    source_error = error
                    pulling = False
                    break
                try:
                    in_flight.append(submit(_run_item, copy_context(), body, item, args, index, limit))
                except RuntimeError:
                    # "can't start new thread" (or interpreter shutdown): the work item may
                    # sit in the pool's queue; the limit makes it a no-op if it ever runs.
                    limit.end = index
                    fallback = (item,)
                    pulling = False
                    break
                index += 1
            if not in_flight:
                break
            future = in_flight.popleft()
            error = _wait(future)
            if error is not None:
                _cancel(in_flight)
                yield (trimmed(error),)
                return
            yield future.result()
        if fallback is not None:
            yield from _inline(body, _chain(fallback, it), args)
        elif source_error is not None:
            yield (trimmed(source_error),)
    finally:
        _cancel(in_flight)


def _wait(future):
    """The exception `future` finished with, or None; waits in slices so signals get through."""
    while True:
        try:
            return future.exception(_POLL_SECONDS)
        except TimeoutError:
            continue


def _cancel(futures) -> None:
    for future in futures:
        future.cancel()
    futures.clear()


def _chain(first: tuple, it):
    yield from first
    yield from it


hide(_run_item, _ordered, _chain)
