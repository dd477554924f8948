"""Shared pools: one per size, named, marked, bounded, idle threads exit, reset in a forked child."""
from __future__ import annotations

import os
import select
import signal
import threading
import time
import warnings

import pytest

from xcs.runtime import is_worker_thread, ordered_map
from xcs.runtime import pools
from xcs.runtime.pools import WorkerPool, pool


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


def _wait_until(condition, seconds=10.0):
    """Poll `condition` until true; a generous bound only turns a hang into a failure."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_idle_threads_exit_and_the_pool_starts_new_ones_when_work_returns():
    workers = WorkerPool(3, idle_seconds=0.05)
    before = threading.active_count()
    barrier = threading.Barrier(3, timeout=10)
    futures = [workers.submit(barrier.wait) for _ in range(3)]
    assert sorted(f.result(10) for f in futures) == [0, 1, 2]
    assert workers.live_threads() == 3
    assert _wait_until(lambda: workers.live_threads() == 0)
    assert _wait_until(lambda: threading.active_count() <= before)  # threads of earlier tests may exit meanwhile
    barrier = threading.Barrier(2, timeout=10)
    futures = [workers.submit(barrier.wait) for _ in range(2)]
    assert sorted(f.result(10) for f in futures) == [0, 1]
    assert _wait_until(lambda: workers.live_threads() == 0)


def test_a_parallel_loop_leaves_no_threads_behind_after_the_idle_pause(monkeypatch):
    monkeypatch.setattr(pools, "_pools", {})
    monkeypatch.setattr(pools, "IDLE_SECONDS", 0.05)
    before = threading.active_count()
    barrier = threading.Barrier(4, timeout=10)

    def body(item):
        barrier.wait()
        return (None, item)

    assert list(ordered_map(body, range(8), max_workers=4)) == [(None, i) for i in range(8)]
    assert _wait_until(lambda: threading.active_count() <= before)  # threads of earlier tests may exit meanwhile


def test_threads_never_exceed_the_size_and_every_call_runs_once():
    workers = WorkerPool(4, idle_seconds=0.01)
    lock = threading.Lock()
    running = peak = 0
    calls = []

    def call(i):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.001 * (i % 3))
        with lock:
            running -= 1
            calls.append(i)
        return i

    for round_ in range(5):
        futures = [workers.submit(call, i) for i in range(50)]
        assert [f.result(10) for f in futures] == list(range(50))
        assert workers.live_threads() <= 4
        time.sleep(0.02 * (round_ % 2))  # some rounds start after threads went idle and exited
    assert peak <= 4 and sorted(calls) == sorted(list(range(50)) * 5)


def test_a_call_cancelled_before_it_starts_is_skipped():
    workers = WorkerPool(1, idle_seconds=0.05)
    gate = threading.Event()
    first = workers.submit(gate.wait, 10)
    ran = []
    second = workers.submit(ran.append, 1)
    assert second.cancel()
    gate.set()
    assert first.result(10) is True
    assert workers.submit(lambda: "after").result(10) == "after"
    assert ran == []


def test_an_exception_reaches_the_future():
    workers = WorkerPool(1, idle_seconds=0.05)
    with pytest.raises(ZeroDivisionError):
        workers.submit(lambda: 1 / 0).result(10)


def test_a_call_submitted_after_busy_rounds_and_idle_exits_still_runs():
    # A pool of one whose thread took queued calls while busy, then went idle and exited,
    # must start a thread for the next call (an accounting slip here hung CI on 3.12).
    workers = WorkerPool(1, idle_seconds=0.02)
    gate = threading.Event()
    first = workers.submit(gate.wait, 10)
    queued = [workers.submit(lambda i=i: i) for i in range(3)]
    gate.set()
    assert first.result(10) is True and [f.result(10) for f in queued] == [0, 1, 2]
    assert _wait_until(lambda: workers.live_threads() == 0)
    assert workers.submit(lambda: "after").result(10) == "after"
