"""Instruments for runtime tests: counting sources, concurrency meters, pool draining."""
from __future__ import annotations

import sys
import threading
import time

from xcs.runtime import ordered  # noqa: F401
from xcs.runtime.lanes import Dispatch
from xcs.runtime.pools import pool


class CountingSource:
    """An iterator over `items` that records how many were pulled and on which threads.

    `fail_at`: raise `error` instead of yielding that position. `on_pull(n)` is called just
    before item n is handed out (on the pulling thread)."""

    def __init__(self, items, fail_at=None, error=None, on_pull=None):
        self.items = list(items)
        self.fail_at = fail_at
        self.error = error
        self.on_pull = on_pull
        self.pulled = 0
        self.threads = set()
        self.iter_calls = 0

    def __iter__(self):
        self.iter_calls += 1
        return self._generate()

    def _generate(self):
        for n, item in enumerate(self.items):
            self.threads.add(threading.get_ident())
            if n == self.fail_at:
                raise self.error
            if self.on_pull is not None:
                self.on_pull(n)
            self.pulled += 1
            yield item


class Meter:
    """Counts bodies running at once; `peak` is the most seen together."""

    def __init__(self):
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __enter__(self):
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc):
        with self._lock:
            self.now -= 1


def drain(size: int) -> None:
    """Return once every thread of the shared pool of `size` finished what it had dequeued.

    Each thread must take one of `size` barrier tasks at the same time, so none is still
    inside an earlier task. The pool must already have `size` threads."""
    barrier = threading.Barrier(size, timeout=5)
    futures = [pool(size).submit(barrier.wait) for _ in range(size)]
    for future in futures:
        future.result(timeout=10)


def wait_until_main_thread_waits(timeout: float = 5.0) -> None:
    """Block until the main thread is inside the runtime's wait for a result."""
    main = threading.main_thread().ident
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(main)
        while frame is not None:
            if frame.f_code is Dispatch.wait.__code__:
                return
            frame = frame.f_back
        time.sleep(0.001)
    raise AssertionError("the main thread never waited for a result")
