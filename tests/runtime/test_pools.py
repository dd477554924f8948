"""Shared pools: one per size, named, marked, and reset in a forked child."""
from __future__ import annotations

import os
import select
import signal
import threading
import warnings

import pytest

from xcs.runtime import is_worker_thread, ordered_map
from xcs.runtime.pools import pool


def test_one_pool_per_size_reused():
    assert pool(2) is pool(2)
    assert pool(2) is not pool(3)


def test_pool_threads_are_named_and_marked_as_workers():
    seen = pool(2).submit(lambda: (threading.current_thread().name, is_worker_thread())).result(5)
    assert seen[0].startswith("xcs-worker-2") and seen[1] is True
    assert is_worker_thread() is False


def _square(x):
    return (None, x * x)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_fresh_working_pools():
    # The parent's pool of 2 has live threads; in the child they do not exist. Without the
    # reset the child's submissions would never run and the child would hang.
    assert list(ordered_map(_square, range(4), max_workers=2)) == [(None, x * x) for x in range(4)]
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads
        pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            results = list(ordered_map(_square, range(6), max_workers=2))
            os.write(write_end, repr((results, is_worker_thread())).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 20)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        output = os.read(read_end, 4096).decode() if ready else "<child hung>"
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert output == repr(([(None, x * x) for x in range(6)], False))
