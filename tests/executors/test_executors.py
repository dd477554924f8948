"""Map parts on other processes: XCS's "processes" pool, a real Dask `LocalCluster`, and a
`concurrent.futures.Executor` — each compared with the plain loop.

The Dask cluster (2 worker processes on 127.0.0.1, 4 threads each, the scheduler set to fail
a lost worker's tasks rather than re-run them) starts once for the module. Overlap is proven
by the local server's gauge (`peak`: most requests in flight at once), where the work ran by
the process ids it reports, equality by comparing with the plain function: return value,
stdout and log records (message and the thread/process they name).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import xcs
from tests.executors import loops
from tests.realworld import servers
from xcs.runtime.executors import DaskRemote
from xcs.runtime.processes import WorkerLost
from xcs.runtime.shipping import ProcessBoundEffect

LATENCY = 0.05


def _dask():
    """(dask, distributed), or a visible skip — an error where CI requires Dask."""
    try:
        import dask
        import distributed
    except ImportError as error:
        if os.environ.get("XCS_REQUIRE_DASK"):
            raise
        pytest.skip(f"Dask is not installed ({error}); `pip install xcs[dask]` runs these tests")
    return dask, distributed


def _cloudpickle():
    """Shipping needs cloudpickle (a dependency of Dask); a visible skip without it outside CI."""
    try:
        import cloudpickle
    except ImportError as error:
        if os.environ.get("XCS_REQUIRE_DASK"):
            raise
        pytest.skip(f"cloudpickle is not installed ({error}); `pip install xcs[dask]` runs these tests")
    return cloudpickle


@pytest.fixture(scope="module", autouse=True)
def shipping_available():
    _cloudpickle()


@pytest.fixture(scope="module")
def base():
    with servers.running_server(LATENCY) as url:
        yield url


@pytest.fixture(scope="module")
def client():
    dask, distributed = _dask()
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=4, processes=True, host="127.0.0.1",
                                           dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_observed(fn, args, capsys, caplog):
    """fn(*args) -> (value or exception, stdout, [(message, threadName, process)])."""
    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tests.executors"):
        try:
            value = fn(*args)
        except Exception as error:  # noqa: BLE001 - compared with the plain run
            value = (type(error), str(error))
    records = [(r.getMessage(), r.threadName, r.process) for r in caplog.records if r.name == "tests.executors"]
    return value, capsys.readouterr().out, records


def notice(fn) -> str:
    return " ".join(str(report) for report in xcs.explain(fn))


# --- the loop runs on the executor: overlap, equality, where -------------------------------

def check_remote(executor, base, capsys, caplog, worker_pids, overlap=4):
    ids = list(range(16))
    servers.stats(base)
    plain = run_observed(loops.fetch_all, (base, ids), capsys, caplog)
    assert servers.stats(base)["peak"] == 1
    fast = xcs.jit(loops.fetch_all, executor=executor)
    fast(base, ids)                       # the first call decides and starts the workers
    servers.stats(base)
    shipped = run_observed(fast, (base, ids), capsys, caplog)
    gauge = servers.stats(base)
    assert shipped == plain
    assert gauge["requests"] == len(ids)
    assert gauge["peak"] >= overlap, gauge     # requests in flight together, from the workers
    assert "on threads" not in notice(fast), notice(fast)
    where = xcs.jit(loops.pids, executor=executor)
    ran = set(where(base, ids))
    assert ran and os.getpid() not in ran
    assert ran <= set(worker_pids()), (ran, worker_pids())


def test_dask_local_cluster_overlaps_and_equals_plain(base, client, capsys, caplog):
    check_remote(client, base, capsys, caplog, lambda: client.run(os.getpid).values())


def test_processes_overlap_and_equal_plain(base, capsys, caplog):
    from xcs.runtime.processes import _pools
    check_remote("processes", base, capsys, caplog, lambda: [pid for p in _pools.values() for pid in p.pids()])


def test_a_process_pool_executor_of_the_standard_library(base, capsys, caplog):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as pool:
        check_remote(pool, base, capsys, caplog, lambda: set(pool._processes), overlap=2)


def test_a_refused_submission_sends_the_rest_to_threads_each_item_once(base, capsys, caplog):
    class Refusing(ThreadPoolExecutor):
        accepted = 0

        def submit(self, fn, *args, **kwargs):
            if Refusing.accepted >= 3:
                raise RuntimeError("cannot schedule new futures after shutdown")
            Refusing.accepted += 1
            return super().submit(fn, *args, **kwargs)

    ids = list(range(8))
    servers.stats(base)
    plain = run_observed(loops.fetch_all, (base, ids), capsys, caplog)
    with Refusing(4) as pool:
        fast = xcs.jit(loops.fetch_all, executor=pool, parallel=True)
        assert run_observed(fast, (base, ids), capsys, caplog) == plain
    assert servers.stats(base)["requests"] == 2 * len(ids)     # each item once per run
    assert Refusing.accepted == 3
    words = notice(fast)
    assert "refused the work (RuntimeError('cannot schedule new futures after shutdown'))" in words, words
    assert "hint: fix what is named, or keep executor='threads'" in words, words


def test_configure_sets_the_executor_for_every_loop(base, client):
    before = xcs.settings().executor
    try:
        xcs.configure(executor=client)
        ran = set(xcs.jit(loops.pids)(base, range(6)))
    finally:
        xcs.configure(executor=before)
    assert ran <= set(client.run(os.getpid).values())
    assert xcs.settings().executor == before


def test_dask_tasks_are_not_deduplicated(base, client):
    fast = xcs.jit(loops.fetch_all, executor=client)
    fast(base, [1])
    servers.stats(base)
    assert fast(base, [7, 7, 7, 7]) == loops.fetch_all(base, [7, 7, 7, 7])
    assert servers.stats(base)["requests"] == 8          # four shipped, four plain: pure=False


def test_executor_option_is_validated():
    with pytest.raises(ValueError, match="executor must be"):
        xcs.jit(loops.fetch_all, executor="gpu")
    with pytest.raises(TypeError, match="executor must be"):
        xcs.configure(executor=object())


# --- what cannot be shipped runs on threads, and explain says why ---------------------------

def test_unserialisable_input_runs_on_threads_with_a_reason(base, client):
    token = loops.Opaque("x")
    fast = xcs.jit(loops.fetch_tagged, executor=client)
    fast(base, [0], token)
    servers.stats(base)
    assert fast(base, range(8), token) == loops.fetch_tagged(base, range(8), token)
    assert servers.stats(base)["peak"] >= 4            # still in parallel, on threads
    words = notice(fast)
    assert "on threads, not the chosen executor" in words and "cannot be serialised" in words, words
    assert "Opaque objects cannot be pickled" in words and "hint:" in words, words


def test_process_bound_input_runs_on_threads_with_a_reason(base):
    lock = threading.Lock()
    fast = xcs.jit(loops.fetch_locked, executor="processes")
    assert fast(base, range(6), lock) == loops.fetch_locked(base, range(6), lock)
    words = notice(fast)
    assert "on threads, not the chosen executor" in words and "`lock`, a `_thread.lock`" in words, words


def test_global_written_by_the_work_keeps_it_on_threads(base):
    fast = xcs.jit(loops.fetch_counted, executor="processes", parallel=True)
    loops.COUNTS["calls"] = 0
    assert fast(base, range(6)) == [str(k) for k in range(6)]
    assert loops.COUNTS["calls"] == 6                  # counted here, not in a worker's copy
    words = notice(fast)
    assert "the global `COUNTS`, which `tests.executors.loops.get_counted` changes" in words, words


def test_an_unserialisable_item_sends_it_and_the_rest_to_threads(base, client):
    items = [0, 1, 2, loops.Opaque(3), 4, 5]
    fast = xcs.jit(loops.fetch_items, executor=client)
    fast(base, [0])
    assert fast(base, items) == loops.fetch_items(base, items)
    assert "from one item on: item 3 cannot be serialised" in notice(fast), notice(fast)


# --- failures: a lost worker, cancellation -----------------------------------------------

def test_killed_dask_worker_is_the_iterations_exception(base, client):
    distributed = _dask()[1]
    out = []
    fast = xcs.jit(loops.fetch_or_die, executor=client)
    fast(base, [0], -1, [])
    try:
        with pytest.raises(distributed.KilledWorker):
            fast(base, range(8), 3, out)
        assert out == ["0", "1", "2"]                 # the in-order part of the earlier iterations only
    finally:
        client.wait_for_workers(2, timeout=60)


def test_killed_worker_process_is_the_iterations_exception(base):
    out = []
    fast = xcs.jit(loops.fetch_or_die, executor="processes")
    fast(base, [0], -1, [])
    with pytest.raises(WorkerLost, match="exited"):
        fast(base, range(8), 3, out)
    assert out == ["0", "1", "2"]
    assert fast(base, range(4), -1, []) == ["0", "1", "2", "3"]   # a new process took its place


def test_earliest_failure_wins_and_later_work_is_cancelled_on_dask(base, client):
    fast = xcs.jit(loops.fetch_slow_or_fail, executor=client)
    fast(base, [1], -1, [])
    servers.stats(base)
    ids = list(range(64))
    out, plain_out = [], []
    with pytest.raises(ValueError, match="bad item 0") as shipped:
        fast(base, ids, 0, out, 0.25)
    with pytest.raises(ValueError, match="bad item 0") as plain:
        loops.fetch_slow_or_fail(base, ids, 0, plain_out, 0.25)
    assert out == plain_out == [] and str(shipped.value) == str(plain.value)
    time.sleep(1.0)                                    # let the tasks running at the failure end
    made = servers.stats(base)["requests"]             # the plain loop made none
    # 64 tasks submitted, 8 worker threads, 0.3 s per task: without cancellation all 64 run
    # (eight rounds, 2.4 s); cancelled at the failure, about a round's worth (12 of 64 on an
    # idle machine); the bound leaves a loaded machine a second to see the failure.
    assert made <= 40, made


def test_cancellation_after_a_failure_on_a_futures_executor(base):
    started = []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            def call():
                started.append(1)
                return fn(*args, **kwargs)
            return super().submit(call)

    with Counting(max_workers=2) as pool:
        fast = xcs.jit(loops.fetch_slow_or_fail, executor=pool)
        out = []
        with pytest.raises(ValueError, match="bad item 1"):
            fast(base, range(40), 1, out)
        assert out == ["0"]
    assert len(started) < 10, len(started)            # 2 threads: the rest were cancelled unstarted


def test_a_dask_scheduler_that_re_runs_tasks_keeps_the_loop_on_threads():
    class Scheduler:
        allowed_failures = 3

    class Client:
        asynchronous = False

        def run_on_scheduler(self, function):
            return function(dask_scheduler=Scheduler())

    reason = DaskRemote(Client(), 8).refusal()
    assert "allowed-failures = 3" in reason and "could run twice" in reason
    Scheduler.allowed_failures = 0
    assert DaskRemote(Client(), 8).refusal() is None


def test_a_file_written_by_the_work_keeps_it_on_threads(base, tmp_path):
    plain_path, path = tmp_path / "plain.txt", tmp_path / "out.txt"
    fast = xcs.jit(loops.fetch_and_write, executor="processes")
    assert fast(base, range(6), str(path)) == loops.fetch_and_write(base, range(6), str(plain_path))
    assert path.read_text() == plain_path.read_text() == "012345"    # in order, by the turns of threads
    words = notice(fast)
    assert "`open()` for writing, which `tests.executors.loops.get_and_write` calls" in words, words


def test_a_write_the_scan_cannot_see_fails_the_iteration_loudly(base, tmp_path):
    # Turns (the rest of an iteration in order) do not cross processes: the write would
    # happen in the worker, out of order, so the iteration fails instead of doing it.
    path = tmp_path / "out"
    fast = xcs.jit(loops.fetch_and_write_paths, executor="processes")
    with pytest.raises(ProcessBoundEffect, match="from a worker process"):
        fast(base, range(4), str(path))
    assert not list(tmp_path.iterdir())


# --- the notices are data: a kind, a cause and details; words.py says them -----------------

_get_counted = loops.get_counted


def _work_changing_counts(item):
    return _get_counted("http://unused", item)


def _work_holding(item, held):
    return held


def test_process_bound_refusals_are_data_with_their_words_in_one_place():
    from xcs.analysis.refusal import Cause, Kind
    from xcs.api.words import words
    from xcs.evidence.remote import process_bound

    changed = process_bound(_work_changing_counts)
    assert (changed.kind, changed.cause, changed.name, changed.callee) == \
        (Kind.REMOTE_PROCESS_BOUND, Cause.CHANGES_GLOBAL, "COUNTS", "tests.executors.loops.get_counted")
    assert "the global `COUNTS`, which `tests.executors.loops.get_counted` changes" in words(changed)
    held = process_bound(_work_holding, ({"k": threading.Lock()},))
    assert (held.cause, held.name, held.held, held.is_global) == (Cause.RESOURCE, "held", True, False)
    assert "touches `held`, a `_thread.lock` it holds:" in words(held), words(held)
