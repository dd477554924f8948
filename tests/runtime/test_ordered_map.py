"""Each sentence of `ordered_map`'s docstring, checked."""
from __future__ import annotations

import _thread
import contextvars
import gc
import threading
import traceback

import pytest

from xcs import config
from xcs.runtime import is_worker_thread, ordered_map, pools
from xcs.runtime.ordered import default_window

from .helpers import CountingSource, Meter, drain, wait_until_main_thread_waits


def echo(x, *args):
    return (None, x, *args)


class Boom(Exception):
    pass


# --- the call itself -------------------------------------------------------------------

def test_non_iterable_raises_type_error_at_the_call():
    with pytest.raises(TypeError):
        ordered_map(echo, 42)


def test_iter_is_called_at_once_and_nothing_is_pulled_before_next():
    source = CountingSource(range(5))
    it = ordered_map(echo, source, max_workers=2)
    assert source.iter_calls == 1
    assert source.pulled == 0
    assert next(it) == (None, 0)
    it.close()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_max_workers_or_window_raise_value_error_at_once(bad):
    with pytest.raises(ValueError, match="max_workers"):
        ordered_map(echo, [1], max_workers=bad)
    with pytest.raises(ValueError, match="window"):
        ordered_map(echo, [1], window=bad)


# --- ordering, laziness, window --------------------------------------------------------

def test_results_are_the_body_tuples_unchanged_in_order_with_args():
    results = list(ordered_map(echo, range(50), ("a", "b"), max_workers=4))
    assert results == [(None, x, "a", "b") for x in range(50)]


def test_items_are_pulled_on_the_calling_thread():
    source = CountingSource(range(20))
    list(ordered_map(echo, source, max_workers=4))
    assert source.threads == {threading.get_ident()}


@pytest.mark.parametrize("workers, window", [(2, None), (3, 1), (2, 5), (4, 4)])
def test_never_more_than_window_in_flight_and_it_does_pull_ahead(workers, window):
    effective = default_window(workers) if window is None else window
    yielded = [0]
    ahead = []
    source = CountingSource(range(30), on_pull=lambda n: ahead.append(n + 1 - yielded[0]))
    for result in ordered_map(echo, source, max_workers=workers, window=window):
        yielded[0] += 1
    assert yielded[0] == 30
    assert max(ahead) == effective          # pulls ahead up to the window ...
    assert all(a <= effective for a in ahead)  # ... and never beyond


def test_bodies_overlap_up_to_max_workers():
    barrier = threading.Barrier(4, timeout=5)

    def body(x):
        barrier.wait()  # only releases when 4 bodies run at once
        return (None, x)

    assert list(ordered_map(body, range(8), max_workers=4)) == [(None, x) for x in range(8)]


@pytest.mark.parametrize("workers, window, bound", [(3, None, 3), (5, 2, 2), (2, 6, 2)])
def test_concurrency_never_exceeds_max_workers_nor_window(workers, window, bound):
    meter = Meter()
    barrier = threading.Barrier(bound, timeout=5)
    gate = threading.Event()

    def body(x):
        with meter:
            if x < bound:
                barrier.wait()   # the bound is reached ...
            gate.wait(0.002)     # ... and the others overlap as much as they can
        return (None, x)

    results = list(ordered_map(body, range(40), max_workers=workers, window=window))
    assert results == [(None, x) for x in range(40)]
    assert meter.peak == bound


def test_default_concurrency_comes_from_settings():
    old = config.settings().max_workers
    config.configure(max_workers=3)
    try:
        meter = Meter()
        barrier = threading.Barrier(3, timeout=5)

        def body(x):
            with meter:
                if x < 3:
                    barrier.wait()
            return (None, x)

        assert list(ordered_map(body, range(12))) == [(None, x) for x in range(12)]
        assert meter.peak == 3
    finally:
        config.configure(max_workers=old)


def test_per_call_max_workers_overrides_settings():
    meter = Meter()
    barrier = threading.Barrier(2, timeout=5)

    def body(x):
        with meter:
            if x < 2:
                barrier.wait()
        return (None, x)

    assert config.settings().max_workers > 2
    list(ordered_map(body, range(10), max_workers=2))
    assert meter.peak == 2


def test_bodies_run_on_named_worker_threads_of_the_shared_pool():
    names = []

    def body(x):
        names.append((threading.current_thread().name, is_worker_thread()))
        return (None, x)

    list(ordered_map(body, range(6), max_workers=3))
    assert all(name.startswith("xcs-worker-3") and worker for name, worker in names)
    assert not is_worker_thread()
    assert pools.pool(3) is pools.pool(3)


# --- contextvars -----------------------------------------------------------------------

var = contextvars.ContextVar("var", default="unset")


def test_context_is_copied_on_the_calling_thread_when_each_item_is_submitted():
    # The source runs on the calling thread just before each submission and sets the
    # variable to the item: each body must see its own item, not a later one.
    source = CountingSource(range(20), on_pull=lambda n: var.set(n))

    def body(x):
        return (None, x, var.get())

    token = var.set("caller")
    try:
        results = list(ordered_map(body, source, max_workers=4))
    finally:
        var.reset(token)
    assert results == [(None, x, x) for x in range(20)]


def test_a_body_setting_a_variable_does_not_leak_into_the_caller_or_other_items():
    def body(x):
        seen = var.get()
        var.set(f"item {x}")
        return (None, seen)

    assert list(ordered_map(body, range(10), max_workers=2)) == [(None, "unset")] * 10
    assert var.get() == "unset"


# --- failure ---------------------------------------------------------------------------

def test_failure_yields_earlier_results_then_the_exception_then_exhaustion():
    def body(x):
        if x == 5:
            raise Boom(x)
        return (None, x)

    it = ordered_map(body, range(20), max_workers=3)
    results = [next(it) for _ in range(6)]
    assert results[:5] == [(None, x) for x in range(5)]
    (error,) = results[5]
    assert isinstance(error, Boom) and error.args == (5,)
    with pytest.raises(StopIteration):
        next(it)


def test_earliest_failure_wins_even_when_a_later_one_fails_first():
    later_failed = threading.Event()

    def body(x):
        if x == 3:
            later_failed.set()
            raise Boom("later")
        if x == 1:
            assert later_failed.wait(5)
            raise Boom("earlier")
        return (None, x)

    results = list(ordered_map(body, range(6), max_workers=4))
    assert results[0] == (None, 0)
    assert len(results) == 2
    assert results[1][0].args == ("earlier",)


def test_after_a_failure_nothing_more_is_pulled_not_started_tasks_never_run_running_ones_are_not_awaited():
    release_0 = threading.Event()
    release_1 = threading.Event()
    both_running = threading.Barrier(2, timeout=5)
    calls = []

    def body(x):
        calls.append(x)
        if x == 0:
            both_running.wait()
            release_0.wait(5)
            raise Boom(0)
        if x == 1:
            both_running.wait()
            assert release_1.wait(5)
        return (None, x)

    source = CountingSource(range(100))
    it = ordered_map(body, source, max_workers=2, window=6)
    try:
        release_0.set()
        (error,) = next(it)              # yielded while item 1 is still running
        assert isinstance(error, Boom)
        assert not release_1.is_set()
        with pytest.raises(StopIteration):
            next(it)
        assert source.pulled == 6
    finally:
        release_1.set()
    drain(2)
    assert sorted(calls) == [0, 1]
    assert source.pulled == 6


@pytest.mark.parametrize("error", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_base_exceptions_raised_by_body_follow_the_same_protocol(error):
    def body(x):
        if x == 2:
            raise error
        return (None, x)

    results = list(ordered_map(body, range(5), max_workers=2))
    assert results == [(None, 0), (None, 1), (error,)]


def test_source_failure_is_delivered_after_all_earlier_results():
    release = threading.Event()

    def body(x):
        assert release.wait(5)
        return (None, x)

    source = CountingSource(range(10), fail_at=4, error=Boom("source"))
    it = ordered_map(body, source, max_workers=2, window=8)
    release.set()
    results = list(it)
    assert results[:4] == [(None, x) for x in range(4)]
    assert len(results) == 5 and results[4][0].args == ("source",)
    with pytest.raises(StopIteration):
        next(it)


def _failing_body(x):
    if x == 2:
        raise Boom(x)
    return (None, x)


def _failing_source():
    yield 0
    yield 1
    raise Boom("source")


@pytest.mark.parametrize("workers", [1, 3])
def test_traceback_of_a_body_failure_starts_at_the_body_frame(workers):
    results = list(ordered_map(_failing_body, range(5), max_workers=workers))
    frames = traceback.extract_tb(results[-1][0].__traceback__)
    assert [frame.name for frame in frames] == ["_failing_body"]


def test_traceback_of_a_source_failure_starts_at_the_source_frame():
    results = list(ordered_map(echo, _failing_source(), max_workers=2))
    frames = traceback.extract_tb(results[-1][0].__traceback__)
    assert [frame.name for frame in frames] == ["_failing_source"]


def test_traceback_keeps_the_frames_below_the_body():
    def helper(x):
        raise Boom(x)

    def body(x):
        return (None, helper(x))

    (error,) = list(ordered_map(body, [7], max_workers=2))[0]
    assert [frame.name for frame in traceback.extract_tb(error.__traceback__)] == ["body", "helper"]


# --- KeyboardInterrupt and closing -----------------------------------------------------

def test_keyboard_interrupt_while_waiting_propagates_at_once_and_cancels_not_started(python_sigint):
    release = threading.Event()
    calls = []

    def body(x):
        calls.append(x)
        release.wait(10)
        return (None, x)

    def interrupter():
        wait_until_main_thread_waits()
        _thread.interrupt_main()

    it = ordered_map(body, range(10), max_workers=1, window=4)
    helper = threading.Thread(target=interrupter)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            next(it)                   # body 0 is still blocked: nothing waited for it
        assert not release.is_set()
        with pytest.raises(StopIteration):
            next(it)
    finally:
        release.set()
        helper.join()
    drain(1)
    assert calls == [0]


def test_keyboard_interrupt_from_the_source_propagates_before_earlier_results():
    release = threading.Event()
    started = threading.Event()
    calls = []

    def body(x):
        calls.append(x)
        started.set()
        release.wait(10)
        return (None, x)

    # Item 1 is pulled only once body 0 runs, so item 1 is queued behind it when the
    # source interrupts: body 0 is not awaited, item 1 is cancelled.
    source = CountingSource(range(10), fail_at=2, error=KeyboardInterrupt(),
                            on_pull=lambda n: n == 1 and started.wait(5))
    it = ordered_map(body, source, max_workers=1, window=5)
    try:
        with pytest.raises(KeyboardInterrupt):
            next(it)
        with pytest.raises(StopIteration):
            next(it)
    finally:
        release.set()
    drain(1)
    assert calls == [0]


def _blocked_after_first(calls, release):
    def body(x):
        calls.append(x)
        if x == 1:
            release.wait(10)
        return (None, x)
    return body


@pytest.mark.parametrize("how", ["close", "gc", "loop raises"])
def test_closing_the_iterator_cancels_not_started_tasks(how):
    release = threading.Event()
    calls = []
    source = CountingSource(range(50))
    it = ordered_map(_blocked_after_first(calls, release), source, max_workers=1, window=6)
    try:
        if how == "loop raises":
            with pytest.raises(Boom):
                for result in it:      # the loop's frame holds the only reference
                    raise Boom
            del it
        else:
            assert next(it) == (None, 0)
            if how == "close":
                it.close()
            else:
                del it
        gc.collect()
    finally:
        release.set()
    drain(1)
    assert calls == [0, 1]
    assert source.pulled == 6


# --- nesting and fallback --------------------------------------------------------------

def test_a_loop_inside_a_body_runs_inline_on_that_worker_thread():
    inner_threads = []

    def inner(y, outer_thread):
        inner_threads.append(threading.get_ident() == outer_thread)
        return (None, y * 10)

    def outer(x):
        here = threading.get_ident()
        got = list(ordered_map(inner, range(x), (here,), max_workers=9))
        return (None, [r[1] for r in got])

    results = list(ordered_map(outer, range(6), max_workers=2))
    assert results == [(None, [y * 10 for y in range(x)]) for x in range(6)]
    assert inner_threads and all(inner_threads)
    assert 9 not in pools._pools      # no pool was made for the inner loops


def test_nested_loops_with_a_one_thread_pool_do_not_deadlock_and_keep_the_protocol():
    def inner(y):
        if y == 3:
            raise Boom(y)
        return (None, y)

    def outer(x):
        return (None, list(ordered_map(inner, range(x), max_workers=1)))

    results = list(ordered_map(outer, range(5), max_workers=1))
    assert [r[1][:3] for r in results] == [[(None, y) for y in range(min(x, 3))] for x in range(5)]
    (error,) = results[4][1][3]
    assert isinstance(error, Boom)
    assert [f.name for f in traceback.extract_tb(error.__traceback__)] == ["inner"]


def _refuse_threads(monkeypatch, allowed, refused=None):
    real_start = threading.Thread.start
    started = [0]

    def start(thread):
        if thread.name.startswith("xcs-worker"):
            if started[0] >= allowed:
                if refused is not None:
                    refused.set()
                raise RuntimeError("can't start new thread")
            started[0] += 1
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)


def test_items_run_inline_when_the_pool_cannot_start_any_thread(monkeypatch):
    _refuse_threads(monkeypatch, allowed=0)
    threads = []

    def body(x):
        threads.append(threading.get_ident())
        return (None, x)

    size = 11
    assert size not in pools._pools
    assert list(ordered_map(body, range(8), max_workers=size)) == [(None, x) for x in range(8)]
    assert threads == [threading.get_ident()] * 8


def test_items_run_inline_once_the_pool_cannot_start_another_thread(monkeypatch):
    release = threading.Event()     # set when a thread start is refused
    _refuse_threads(monkeypatch, allowed=1, refused=release)
    calls = []

    def body(x):
        calls.append((x, threading.get_ident()))
        if x == 0:
            assert release.wait(5)
        return (None, x)

    size = 13
    assert size not in pools._pools
    assert list(ordered_map(body, range(6), max_workers=size)) == [(None, x) for x in range(6)]
    me = threading.get_ident()
    assert sorted(x for x, _ in calls) == list(range(6))             # each item exactly once
    assert calls[0][1] != me and all(t == me for x, t in calls if x > 0)
