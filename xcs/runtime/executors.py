"""`remote_map`: a loop's map parts on another executor, results through the ordered window.

`executor_for(option, window)` turns the `executor` option into a `Remote` — where shipped
map parts run — or None for "threads" (`ordered_map`'s own pool):

- "processes": XCS's `ProcessPool` (`xcs.runtime.processes`): one worker process per core,
  each running up to ceil(window / cores) iterations at once on its threads;
- a `dask.distributed.Client`: tasks submitted with `pure=False` (two iterations with equal
  items are two tasks) and no retries, a quarter of the window at a time (`client.map`);
  a body and inputs larger than 64 KiB are scattered to the workers once per loop;
- any other `concurrent.futures.Executor`.

`Remote.refusal()` says why this executor cannot take the loop exactly once (None when it
can): a Dask scheduler that re-runs the tasks of a lost worker
(`distributed.scheduler.allowed-failures` > 0) could run an iteration twice.

`remote_map(remote, shipment, iterable)` has `ordered_map`'s protocol: it yields the body's
result tuples in iteration order, and after a failure of iteration k (the body raised, or the
executor failed it: a lost worker) the results of 0..k-1, then `(e,)`, then nothing. Items
are pulled on the calling thread, in order, at most `window` in flight (submitted, not yet
yielded). Before result k is yielded, what iteration k printed and logged in its worker is
replayed on the calling thread, in order. After a failure, when the iterator is closed or on
KeyboardInterrupt, every future still in flight is cancelled: the executor never starts
those not started (`Future.cancel`, `client.cancel`); those running finish unobserved.
An item that does not serialise ends the shipping: the items in flight are delivered, then
that item and the rest run through `fallback(items)` (the thread pool), and `on_fallback`
hears why (`on_fallback("unshippable", words)`); so do the items of a submission the
executor refuses, a closed client or a pool shut down (`on_fallback("refused", words)`). Turns do not exist across processes: an iteration that reaches a turn point fails
with `ProcessBoundEffect` (see `xcs.runtime.shipping`).
"""
from __future__ import annotations

import itertools
import threading
import weakref
from collections import deque

from xcs.config import is_dask_client
from xcs.runtime.capture import replay
from xcs.runtime.shipping import Shipment, Unshippable, run_shipped, unpack
from xcs.runtime.tracebacks import hide, trimmed

_POLL_SECONDS = 0.05   # as ordered_map: signals reach a calling thread blocked on a result


class Remote:
    """Where shipped map parts run: `submit(shipment, items)` returns one future per item
    bytes, whose result is the bytes of `run_shipped` (or raises; `_Partial` when it accepted
    the first few); `cancel(futures)` cancels those not started. At most `window` are in
    flight; new items are submitted once `batch` slots are free (or nothing is in flight),
    all free slots at once."""

    name = "an executor"
    window = 1
    batch = 1

    def submit(self, shipment: Shipment, items: list) -> list:
        raise NotImplementedError

    def cancel(self, futures) -> None:
        for future in futures:
            future.cancel()

    def wait(self, future, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `future`; True once it is done."""
        return _wait_with_event(future, timeout)

    def outcomes(self, futures) -> list:
        """For done `futures`: each one's result bytes, or the exception that failed it."""
        out = []
        for future in futures:
            try:
                out.append(future.result())
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # noqa: BLE001 - the executor failed the iteration (a lost worker)
                out.append(_Failed(error.with_traceback(None)))
        return out

    def refusal(self) -> str | None:
        """Why this executor cannot run the loop exactly once, or None."""
        return None


class FuturesRemote(Remote):
    """A `concurrent.futures.Executor` (XCS's `ProcessPool` for "processes")."""

    def __init__(self, executor, window: int, name: str):
        self.executor = executor
        self.window = window
        self.name = name

    def submit(self, shipment, items):
        futures = []
        for item in items:
            try:
                futures.append(self.executor.submit(run_shipped, shipment.token, shipment.payload, item,
                                                    shipment.caller))
            except Exception as error:
                if not futures:
                    raise
                raise _Partial(futures, error) from None
        return futures


class _Partial(Exception):
    """A submission the executor refused after accepting its first `futures`."""

    def __init__(self, futures, error):
        super().__init__(error)
        self.futures = futures
        self.error = error


class _Failed:
    """An outcome that is the executor's exception, not the worker's bytes."""

    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error


def _wait_with_event(future, timeout: float) -> bool:
    if future.done():
        return True
    event = getattr(future, "_xcs_done", None)
    if event is None:
        event = threading.Event()
        try:
            future._xcs_done = event
        except AttributeError:
            pass
        future.add_done_callback(lambda _f: event.set())
    return event.wait(timeout)


_allowed_failures: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class DaskRemote(Remote):
    """A `dask.distributed.Client`: `pure=False`, no retries; see `refusal`."""

    name = "Dask"
    SCATTER_BYTES = 64 * 1024   # a larger body and inputs go to the workers once, not with each task

    def __init__(self, client, window: int):
        self.client = client
        self.window = window
        # Each submission is a graph update the scheduler handles on its own (about a
        # millisecond each on a 2-core machine): submitting a quarter of the window at once
        # with `client.map` costs about half as much per task.
        self.batch = max(1, window // 4)
        self._payload = None

    def submit(self, shipment, items):
        payload = shipment.payload
        if len(payload) > self.SCATTER_BYTES:
            if self._payload is None:
                self._payload = self.client.scatter(payload, hash=False)
            payload = self._payload
        n = len(items)
        return self.client.map(run_shipped, [shipment.token] * n, [payload] * n, items, [shipment.caller] * n,
                               pure=False, retries=0)

    def cancel(self, futures) -> None:
        if futures:
            try:
                self.client.cancel(list(futures))
            except Exception:  # noqa: BLE001 - a closed client: nothing left to cancel
                pass

    def outcomes(self, futures) -> list:
        # `Future.result()` is a round trip to the client's event loop for each future (about
        # a millisecond here): the results of the finished ones come in one `gather`.
        finished = [f for f in futures if f.status == "finished"]
        try:
            gathered = dict(zip((f.key for f in finished), self.client.gather(finished))) if finished else {}
        except Exception:  # noqa: BLE001 - lost since: ask each one
            gathered = {}
        out = []
        for future in futures:
            if future.key in gathered:
                out.append(gathered.pop(future.key))
            else:
                out.extend(Remote.outcomes(self, [future]))
        return out

    def refusal(self) -> str | None:
        if getattr(self.client, "asynchronous", False):
            return "the Dask client is asynchronous; XCS needs a synchronous `Client`"
        try:
            allowed = _allowed_failures[self.client]
        except (KeyError, TypeError):
            # A lambda travels by value: the scheduler need not have XCS installed.
            allowed = self.client.run_on_scheduler(lambda dask_scheduler=None: dask_scheduler.allowed_failures)
            try:
                _allowed_failures[self.client] = allowed
            except TypeError:
                pass
        if allowed:
            return (f"the Dask scheduler re-runs the tasks of a lost worker (distributed.scheduler.allowed-failures "
                    f"= {allowed}), so an iteration could run twice; start the scheduler with allowed-failures 0")
        return None


def executor_for(option, window: int) -> Remote | None:
    """The `Remote` for the `executor` option (already checked by `xcs.config.check_executor`),
    or None for "threads"."""
    if option == "threads":
        return None
    if option == "processes":
        from xcs.runtime.processes import process_pool

        import os
        cores = os.cpu_count() or 1
        return FuturesRemote(process_pool(-(-window // cores)), window, "processes")
    if is_dask_client(option):
        return DaskRemote(option, window)
    return FuturesRemote(option, window, type(option).__name__)


def remote_map(remote: Remote, shipment: Shipment, iterable, fallback=None, on_fallback=None):
    """Run the shipped body on `remote` for the items of `iterable`; yield results in order.

    See the module docstring for the protocol; `fallback(items)` must return an iterator with
    the same protocol (the thread pool's `ordered_map`)."""
    return _remote(remote, shipment, iter(iterable), fallback, on_fallback)


def _remote(remote, shipment, it, fallback, on_fallback):
    in_flight: deque = deque()     # futures submitted, not yet done (or not yet looked at)
    ready: deque = deque()         # outcomes of the oldest iterations, not yet yielded
    index = 0
    pulling = True
    source_error = None
    rest = None                    # (item,) that could not be shipped: it and the rest go to `fallback`
    try:
        while True:
            batch = []
            free = remote.window - len(in_flight) - len(ready)
            while pulling and len(batch) < free and (free >= remote.batch or not (in_flight or ready)):
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
                    batch.append((item, shipment.pack(item, index)))
                except Unshippable as error:
                    rest = (item,)
                    pulling = False
                    if on_fallback is not None:
                        on_fallback("unshippable", str(error))
                    break
                index += 1
                item = None
            if batch:
                try:
                    futures = remote.submit(shipment, [data for _, data in batch])
                except Exception as error:  # noqa: BLE001 - a closed client, a broken pool: the rest on threads
                    # Those accepted stay in flight (none runs twice); the rest go to threads.
                    futures = error.futures if isinstance(error, _Partial) else []
                    error = error.error if isinstance(error, _Partial) else error
                    rest = tuple(item for item, _ in batch[len(futures):]) + (rest or ())
                    pulling = False
                    if on_fallback is not None:
                        on_fallback("refused", f"{remote.name} refused the work ({error!r})")
                in_flight.extend(futures)
                batch = futures = None
            if not ready:
                if not in_flight:
                    break
                while not remote.wait(in_flight[0], _POLL_SECONDS):
                    pass
                done = []
                while in_flight and in_flight[0].done():   # the oldest and the done ones after it
                    done.append(in_flight.popleft())
                ready.extend(remote.outcomes(done))
                done = None
            outcome = ready.popleft()
            result = None
            if isinstance(outcome, _Failed):
                error, buffer = outcome.error, None
            else:
                try:
                    result, error, buffer = unpack(outcome)
                except KeyboardInterrupt:
                    raise
                except BaseException as unreadable:  # noqa: BLE001 - a result this process cannot load
                    error, buffer = unreadable, None
            outcome = None
            if buffer:
                try:
                    replay(buffer)
                except KeyboardInterrupt:
                    raise
                except BaseException as replay_error:  # noqa: BLE001 - the body's print failed
                    error = replay_error
            if error is not None:
                ready.clear()
                _cancel(remote, in_flight)
                yield (trimmed(error),)
                return
            box, result = [result], None
            yield box.pop()
        if rest is not None:
            yield from fallback(itertools.chain(rest, it))
        elif source_error is not None:
            yield (trimmed(source_error),)
    finally:
        _cancel(remote, in_flight)


def _cancel(remote, in_flight) -> None:
    if in_flight:
        futures = list(in_flight)
        in_flight.clear()
        remote.cancel(futures)


hide(_remote)
