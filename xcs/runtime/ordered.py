"""`ordered_map`: run a loop body on a shared pool, a bounded window ahead, results in order."""
from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextvars import copy_context

from xcs.config import settings
from xcs.runtime import capture
from xcs.runtime.capture import caller_identity, replay
from xcs.runtime.inline import _inline
from xcs.runtime.pools import is_worker_thread, pool
from xcs.runtime.tracebacks import hide, trimmed
from xcs.runtime.turns import _Iteration, _Loop, _state, install_audit_hook

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

    Turns (OpenMP `ordered`): iteration k has the turn once every earlier iteration has
    finished, its result was yielded, and the calling thread came back for k, i.e. after
    the consumer's in-order part for 0..k-1 ran and after the items up to the window were
    pulled. A body that calls `take_turn()` blocks there until its iteration has the turn;
    the rest of the iteration then runs while the calling thread waits for it. A body that
    never calls it never waits for another iteration. If the loop is abandoned (an earlier
    iteration or the iterable failed, KeyboardInterrupt reached the calling thread, or the
    iterator was closed or collected), a body waiting for its turn, or asking for it later,
    raises `Abandoned`, which unwinds it and is never yielded.

    No hang from the pool: when the calling thread comes for iteration k while the pool is
    saturated (each of its threads is running a call: later iterations waiting for their
    turn, other loops) and k has not started, it cancels k in the pool and runs it itself,
    in k's context and with the turn. So a queued iteration never waits for a pool thread
    that waiting work holds.

    Output: while a body runs on a worker without the turn, what it writes to `sys.stdout`
    and `sys.stderr` and the `logging` records it emits are captured in its iteration's
    buffer (see `xcs.runtime.capture`). Before yielding result k, or k's `(e,)`, the
    calling thread replays k's buffer in the order it was produced: the text to the
    streams `sys.stdout`/`sys.stderr` are then, each record to its logger's handlers with
    the calling thread's `thread`, `threadName` (and `taskName`). `take_turn()` first
    writes out the buffer so far, and output after it goes straight through, as does the
    output of iterations the calling thread runs itself. If replaying raises `e` (the
    stream fails), iteration k is delivered as `(e,)`: the plain body would have raised at
    that write. Captured output of iterations never yielded is dropped.

    Effects: an audit hook makes effects on files and on the process turn points: `open`
    for writing, appending or creating, and the events of `xcs.runtime.turns.TURN_EVENTS`
    (`os.remove`, `os.rename`, `os.mkdir`, `os.putenv`, `shutil.copyfile`, `os.kill`, ...)
    call `take_turn()` first on an iteration without the turn, so they happen in order.

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


def _run_item(context, body, item, args, iteration, limit):
    """Worker side of one iteration: `body(item, *args)` inside `context`, without the turn.

    Skipped when an earlier-submitted iteration already failed: its result can never be
    yielded, and sequential code would never have run it."""
    index = iteration.index
    if index >= limit.end:
        return None  # never waited for: the calling thread stops at the failed iteration
    _state.iteration = iteration
    try:
        return context.run(body, item, *args)
    except BaseException:
        if index < limit.end:
            # Not atomic: a racing failure may leave a larger end. That only lets some
            # doomed iterations run; none that could be yielded is ever skipped.
            limit.end = index + 1
        raise
    finally:
        _state.iteration = None
        _state.owner = None


def _run_here(context, body, item, args):
    """Calling thread: run an iteration the pool had not started, with the turn.

    Returns (result, None) or (None, exception)."""
    try:
        return context.run(body, item, *args), None
    except BaseException as error:  # noqa: BLE001 - delivered in order as (e,)
        return None, error


def _ordered(body, it, args, workers, window):
    """The generator behind `ordered_map` on the calling thread."""
    workers_pool = pool(workers)
    submit = workers_pool.submit
    loop = _Loop(caller_identity())
    in_flight = deque()           # (future, iteration, context, item) submitted, not yet yielded
    limit = _Limit()
    index = 0
    pulling = True
    source_error = None
    fallback = None               # (item,) that could not be submitted: run it and the rest inline
    current = None                # the future being waited for
    stragglers = []               # futures of abandoned iterations still running
    install_audit_hook()
    capture.acquire()
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
                iteration = _Iteration(loop, index)
                context = copy_context()
                try:
                    future = submit(_run_item, context, body, item, args, iteration, limit)
                except RuntimeError:
                    # "can't start new thread" (or interpreter shutdown): the work item may
                    # sit in the pool's queue; the limit makes it a no-op if it ever runs.
                    limit.end = index
                    fallback = (item,)
                    pulling = False
                    break
                in_flight.append((future, iteration, context, item))
                index += 1
            if not in_flight:
                break
            future, iteration, context, item = in_flight.popleft()
            loop.grant(iteration)
            current = future
            error = _wait(future, workers_pool)
            current = None
            if error is _STOLEN:
                result, error = _run_here(context, body, item, args)
                if error is not None:
                    limit.end = iteration.index
            else:
                result = None if error is not None else future.result()
                buffer = iteration.buffer
                if buffer:
                    try:
                        replay(buffer)
                    except KeyboardInterrupt:
                        raise
                    except BaseException as replay_error:  # noqa: BLE001 - the body's print failed
                        error = replay_error
            context = item = future = None
            if error is not None:
                _abandon(loop, in_flight, stragglers)
                yield (trimmed(error),)
                return
            # Hand the result over without keeping it: while the loop's in-order part runs,
            # nothing of XCS's may keep the iteration's objects alive (`del obj; gc.collect()`).
            box, result = [result], None
            yield box.pop()
        if fallback is not None:
            yield from _inline(body, _chain(fallback, it), args)
        elif source_error is not None:
            yield (trimmed(source_error),)
    finally:
        _abandon(loop, in_flight, stragglers)
        if current is not None and not current.done():
            stragglers.append(current)   # KeyboardInterrupt while waiting for it
        _release_when_done(stragglers)


_STOLEN = object()


def _wait(future, workers_pool):
    """The exception `future` finished with, or None; waits in slices so signals get through.

    Returns `_STOLEN` instead once the pool is saturated and the future could be cancelled
    before it started: the calling thread then runs that iteration itself."""
    while True:
        if workers_pool.saturated() and future.cancel():
            return _STOLEN
        try:
            return future.exception(_POLL_SECONDS)
        except TimeoutError:
            continue


def _abandon(loop, in_flight, stragglers) -> None:
    """Cancel the not started, wake the ones waiting for a turn (they raise Abandoned);
    add the futures of those still running to `stragglers`."""
    if not in_flight:
        return
    loop.abandon([entry[1] for entry in in_flight])
    for entry in in_flight:
        future = entry[0]
        if not future.cancel() and not future.done():
            stragglers.append(future)
    in_flight.clear()


def _release_when_done(futures) -> None:
    """Release the loop's hold on the capture once `futures` are all done: an abandoned
    iteration still running writes into its buffer, which is dropped, never to the streams
    (the plain loop would never have run it)."""
    if not futures:
        capture.release()
        return
    remaining = [len(futures)]
    lock = threading.Lock()

    def done(_future):
        with lock:
            remaining[0] -= 1
            last = not remaining[0]
        if last:
            capture.release()

    for future in futures:
        future.add_done_callback(done)


def _chain(first: tuple, it):
    yield from first
    yield from it


hide(_run_item, _run_here, _ordered, _chain, replay)
