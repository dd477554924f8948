"""Shared worker pools: one lazily created `ThreadPoolExecutor` per worker count.

Every parallel loop with the same effective worker count shares one pool, so the threads
of all XCS loops together are bounded by the distinct sizes in use, not by the number of
loops. Pool threads are named `xcs-worker-<size>_<n>` and marked, so `is_worker_thread()`
can tell a loop started inside a body (which must then run inline). A forked child starts
with no pools: the parent's threads do not exist there.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()
_local = threading.local()


def _mark_worker() -> None:
    _local.is_worker = True


def is_worker_thread() -> bool:
    """True on a thread of one of XCS's pools (a parallel loop's body is running here)."""
    return getattr(_local, "is_worker", False)


def pool(size: int) -> ThreadPoolExecutor:
    """The shared pool of `size` threads, created on first use and reused afterwards."""
    try:
        return _pools[size]
    except KeyError:
        pass
    with _lock:
        executor = _pools.get(size)
        if executor is None:
            executor = ThreadPoolExecutor(
                max_workers=size, thread_name_prefix=f"xcs-worker-{size}", initializer=_mark_worker
            )
            _pools[size] = executor
        return executor


def _reset_after_fork() -> None:
    # The child has only the forking thread: the parent's pools have no threads here and
    # their queues and semaphores describe the parent, so drop them (without shutdown,
    # which would wait for threads that do not exist) and start afresh.
    global _lock
    _pools.clear()
    _lock = threading.Lock()
    _local.is_worker = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
