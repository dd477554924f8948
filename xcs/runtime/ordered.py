"""`ordered_map`: run a loop body on a shared pool, a bounded window ahead, results in order."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextvars import copy_context

from xcs.config import settings
from xcs.runtime import capture
from xcs.runtime.capture import caller_identity, replay
from xcs.runtime.inline import _inline
from xcs.runtime.lanes import Dispatch, Task
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
    limiter=None,
    failed=None,
) -> Iterator[tuple]:
    """Run `body(item, *args)` for the items of `iterable` on a thread pool; yield results in order.

    `iter(iterable)` is called at once on the calling thread (a non-iterable raises
    TypeError here, as a `for` statement would), and an iterator is returned. Each call of
    its `__next__` first pulls items from the iterable, on the calling thread and in order,
    until `window` iterations are in flight (submitted but not yet yielded), then waits
    for the oldest one and yields its result. Items are never pulled further ahead.

    Concurrency is at most `max_workers` (default `xcs.config.settings().max_workers`), at
    most `window` (default `default_window(max_workers)`, larger than the concurrency) and,
    given a `limiter` (`xcs.runtime.adaptive.Limiter`), at most its current `limit`, which it
    adapts from each iteration's duration and the overload signals seen. A worker that
    finishes an iteration starts the next pulled one at once, whichever result the calling
    thread waits for (no head-of-line blocking). Each item runs on a thread of the shared
    pool of `max_workers` threads, inside a `contextvars.copy_context()` taken on the calling thread
    when the item is submitted. `body` returns a tuple whose slot 0 is None; these tuples
    are yielded unchanged, in iteration order.

    Failure: if `body` raised `e` for iteration k and iterations before k succeeded, then
    after the results of 0..k-1 the iterator yields the 1-tuple `(e,)`, with
    `e.__traceback__` starting at `body`'s frame, and is exhausted afterwards. The earliest
    failing iteration wins, whatever order failures happen in. From the moment k fails, no
    iteration after k starts (pulled ones not started are cancelled and never call `body`)
    and no further item is pulled; running ones are not waited for. `BaseException`s raised by `body` (SystemExit, ...) are treated alike.

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

    `failed(result)`, if given, says that a result reports a failure the consumer will
    probably raise (the compiled body returns its exception): no later iteration starts and
    nothing more is pulled until the consumer comes back for the next result.

    Raises ValueError at once if `max_workers` or `window` is given and not a positive int.
    """
    workers = settings().max_workers if max_workers is None else _positive("max_workers", max_workers)
    window = default_window(workers) if window is None else _positive("window", window)
    it = iter(iterable)
    if is_worker_thread():
        return _inline(body, it, args)
    return _ordered(body, it, args, workers, window, limiter, failed)


def _positive(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def default_window(concurrency: int) -> int:
    """How many iterations may be in flight (pulled, not yet yielded) by default: four times
    the concurrency, at most 512 more than it. Larger than the concurrency, so a slow
    iteration does not stop later ones from starting (no head-of-line blocking), and
    bounded, so a loop holds at most that many items and results."""
    return min(4 * concurrency, concurrency + 512)


def _run_here(task, body, args):
    """Calling thread: run an iteration no lane started, with the turn.

    Returns (result, None) or (None, exception)."""
    try:
        return task.context.run(body, task.item, *args), None
    except BaseException as error:  # noqa: BLE001 - delivered in order as (e,)
        return None, error


def _ordered(body, it, args, workers, window, limiter=None, failed=None):
    """The generator behind `ordered_map` on the calling thread."""
    loop = _Loop(caller_identity())
    limit = workers if limiter is None else limiter.start(workers)
    dispatch = Dispatch(pool(workers), body, args, limit, capture.release)
    dispatch.failed = failed
    add = dispatch.add
    in_flight = deque()           # tasks pulled, not yet yielded, in order
    index = 0
    pulling = True
    source_error = None
    fallback = None               # (item,) that could not be submitted: run it and the rest inline
    seen_overloads = 0
    install_audit_hook()
    capture.acquire()
    try:
        while True:
            while pulling and len(in_flight) < window:
                if dispatch.end <= index or dispatch.pause <= index:
                    break   # an iteration failed: pull nothing more unless the loop goes on
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
                task = Task(_Iteration(loop, index), copy_context(), item)
                item = None
                try:
                    add(task)
                except RuntimeError:
                    # "can't start new thread" (or interpreter shutdown): this item and the
                    # rest run inline; ready ones are run here as they come up (no lanes).
                    fallback = (task.item,)
                    pulling = False
                    break
                in_flight.append(task)
                index += 1
                if dispatch.no_lanes:
                    fallback = ()
                    pulling = False
            if not in_flight:
                break
            task = in_flight.popleft()
            loop.grant(task.iteration)
            if dispatch.wait(task, _POLL_SECONDS):
                result, error = task.result, task.error
                task.result = task.error = None
                buffer = task.iteration.buffer
                if buffer:
                    try:
                        replay(buffer)
                    except KeyboardInterrupt:
                        raise
                    except BaseException as replay_error:  # noqa: BLE001 - the body's print failed
                        error = replay_error
                if limiter is not None and task.iteration.event is None:
                    # An iteration that waited for its turn measured the loop's order, not
                    # the service: only the others are latency samples.
                    limiter.observe(task.seconds, dispatch.take_peak())
            else:
                try:
                    result, error = _run_here(task, body, args)
                finally:
                    dispatch.stolen_done()
                task.item = task.context = None
                if error is not None:
                    dispatch.end = min(dispatch.end, task.index)
            paused_here = dispatch.pause == task.index + 1
            task = None
            if limiter is not None:
                if dispatch.overloads != seen_overloads:
                    seen_overloads = dispatch.overloads
                    limiter.overloaded()
                if limiter.limit != dispatch.limit:
                    dispatch.resize(limiter.limit)
            if error is not None:
                _abandon(loop, in_flight, dispatch)
                yield (trimmed(error),)
                return
            # Hand the result over without keeping it: while the loop's in-order part runs,
            # nothing of XCS's may keep the iteration's objects alive (`del obj; gc.collect()`).
            box, result = [result], None
            yield box.pop()
            if paused_here:
                dispatch.resume()   # the in-order part did not stop the loop: go on
        if fallback is not None:
            yield from _inline(body, _chain(fallback, it), args)
        elif source_error is not None:
            yield (trimmed(source_error),)
    finally:
        _abandon(loop, in_flight, dispatch)
        if limiter is not None:
            limiter.finish()


def _abandon(loop, in_flight, dispatch) -> None:
    """Cancel the not started, wake the ones waiting for a turn (they raise Abandoned); the
    capture is released once no abandoned iteration runs any more (see `Dispatch.stop`):
    an abandoned iteration still running writes into its buffer, which is dropped, never to
    the streams (the plain loop would never have run it)."""
    if in_flight:
        loop.abandon([task.iteration for task in in_flight])
        in_flight.clear()
    dispatch.stop()


def _chain(first: tuple, it):
    yield from first
    yield from it


hide(_run_here, _ordered, _chain, replay)
