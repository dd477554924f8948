"""Shared worker pools: one lazily created pool per worker count, whose idle threads exit.

Every parallel loop with the same effective worker count shares one pool, so the threads
of all XCS loops together are bounded by the distinct sizes in use, not by the number of
loops. A thread starts only when work arrives and no thread of the pool is free, and a
thread that has had no work for `IDLE_SECONDS` exits: a program that ran a parallel loop
once is not left with XCS threads (code that counts threads, such as CPython's own
`test_threading`, or `threading.enumerate()` at the end of a test, sees none after the
pause). Pool threads are daemons, named `xcs-worker-<size>_<n>` and marked, so
`is_worker_thread()` can tell a loop started inside a body (which must then run inline).
A forked child starts with no pools: the parent's threads do not exist there.
"""
from __future__ import annotations

import itertools
import os
import queue
import threading
from concurrent.futures import Future

from xcs.runtime.tracebacks import hide

IDLE_SECONDS = 1.0

_local = threading.local()


def is_worker_thread() -> bool:
    """True on a thread of one of XCS's pools (a parallel loop's body is running here)."""
    return getattr(_local, "is_worker", False)


class WorkerPool:
    """At most `size` threads running submitted calls; a thread idle for `idle_seconds` exits.

    `submit(fn, *args)` returns a `concurrent.futures.Future`; a future cancelled before
    its call starts is skipped. Raises RuntimeError when a needed thread cannot start (the
    call then stays queued and runs if a thread of this pool frees up). `saturated()` is
    True while every one of `size` threads is running a call, so a call queued now waits
    for one of them to finish.
    """

    def __init__(self, size: int, idle_seconds: float = IDLE_SECONDS):
        self.size = size
        self.idle_seconds = idle_seconds
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0  # live worker threads
        self._idle = 0     # threads in their wait for a call (or just back from it)
        self._pending = 0  # calls submitted and not yet taken by a thread
        self._names = itertools.count()

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        with self._lock:
            self._pending += 1
            self._jobs.put((future, fn, args))
            if self._pending > self._idle and self._threads < self.size:
                self._start_thread()
        return future

    def live_threads(self) -> int:
        """How many of this pool's threads exist now."""
        return self._threads

    def saturated(self) -> bool:
        """True while the pool has all its threads and each is running a call (a racy read:
        a thread about to take a queued call, or just done with one, counts as idle)."""
        return self._threads >= self.size and not self._idle

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"xcs-worker-{self.size}_{next(self._names)}", daemon=True
        )
        # A thread counts as idle from its start: it is about to take a call, not running one.
        self._threads += 1
        self._idle += 1
        try:
            thread.start()
        except BaseException:
            self._threads -= 1
            self._idle -= 1
            raise

    def _work(self) -> None:
        _local.is_worker = True
        while True:
            try:
                future, fn, args = self._jobs.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    # Submits count their call as pending before queueing it, under this
                    # lock: none pending means none queued, so this thread may go.
                    if not self._pending:
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args)
                except BaseException as error:  # noqa: BLE001 - delivered through the future
                    with self._lock:
                        self._idle += 1     # idle again before the waiter hears of it
                    future.set_exception(error)
                    error = None
                else:
                    with self._lock:
                        self._idle += 1
                    future.set_result(result)
                    result = None
            else:
                with self._lock:
                    self._idle += 1
            future = fn = args = None  # an idle thread keeps nothing of the last call alive


hide(WorkerPool._work)

_pools: dict[int, WorkerPool] = {}
_lock = threading.Lock()


def pool(size: int) -> WorkerPool:
    """The shared pool of up to `size` threads, created on first use and reused afterwards."""
    try:
        return _pools[size]
    except KeyError:
        pass
    with _lock:
        return _pools.setdefault(size, WorkerPool(size, IDLE_SECONDS))


def _reset_after_fork() -> None:
    # The child has only the forking thread: the parent's pools have no threads here and
    # their queues and counters describe the parent, so drop them and start afresh.
    global _lock
    _pools.clear()
    _lock = threading.Lock()
    _local.is_worker = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
