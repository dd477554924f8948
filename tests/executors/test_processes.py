"""`xcs.runtime.processes.ProcessPool`, the "processes" executor: each sentence of its contract."""
from __future__ import annotations

import os
import signal
import time

import pytest

from xcs.runtime.processes import ProcessPool, WorkerLost


def touch(path, delay=0.0):
    """Module-level (the pool pickles calls by reference): wait, then create `path`."""
    time.sleep(delay)
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    return os.getpid()


def meet(mine, other, timeout=10.0):
    """Create `mine`, then wait for `other`: True only if another call ran at the same time."""
    touch(mine)
    deadline = time.monotonic() + timeout
    while not os.path.exists(other):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return os.getpid()


def fail(message):
    raise ValueError(message)


@pytest.fixture(scope="module")
def pool():
    pool = ProcessPool(1, 2)
    yield pool
    pool.shutdown()


def test_calls_run_in_a_worker_process_two_at_a_time(pool, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    futures = [pool.submit(meet, a, b), pool.submit(meet, b, a)]    # each waits for the other
    pids = {f.result(30) for f in futures}
    assert pids == set(pool.pids()) and os.getpid() not in pids and False not in pids


def test_exceptions_come_back(pool):
    with pytest.raises(ValueError, match="no good"):
        pool.submit(fail, "no good").result(30)


def test_a_call_cancelled_before_it_started_never_runs(pool, tmp_path):
    busy = [pool.submit(touch, tmp_path / f"busy{k}", 0.6) for k in range(2)]    # both threads taken
    waiting = [pool.submit(touch, tmp_path / f"never{k}") for k in range(3)]
    time.sleep(0.1)
    assert all(f.cancel() for f in waiting)
    for f in busy:
        f.result(30)
    pool.submit(touch, tmp_path / "after").result(30)     # the worker has read the cancellations
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after", "busy0", "busy1"]


def test_a_killed_worker_fails_its_calls_and_is_replaced(tmp_path):
    pool = ProcessPool(1, 2)
    try:
        running = pool.submit(touch, tmp_path / "never", 5.0)
        (pid,) = pool.pids()
        time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerLost, match="exited"):
            running.result(30)
        assert not (tmp_path / "never").exists()
        assert pool.submit(touch, tmp_path / "again").result(30) != pid
    finally:
        pool.shutdown()
