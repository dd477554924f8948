"""Each sentence of the turn rules (`take_turn`, `in_iteration`, `Abandoned`, audit-hook
turn points, stealing), checked against the plain loop."""
from __future__ import annotations

import _thread
import os
import shutil
import threading
import time

import pytest

from xcs.runtime import Abandoned, in_iteration, ordered_map, run_inline, take_turn
from xcs.runtime.pools import pool
from xcs.runtime.turns import TURN_EVENTS

from .helpers import Meter, drain, wait_until_main_thread_waits


class Boom(Exception):
    pass


def plain(body, items, commit):
    """The loop `for x in items: commit(body(x))` under the runtime's protocol."""
    for x in items:
        try:
            result = body(x)
        except Exception as error:  # noqa: BLE001
            return error
        commit(result)
    return None


def parallel(body, items, commit, **options):
    for result in ordered_map(body, items, **options):
        if len(result) == 1:
            return result[0]
        commit(result)
    return None


def shrinking(x, n=8):
    """Sleep less for later items, so later iterations finish first unless order is kept."""
    time.sleep(0.002 * (n - x % n))


# --- take_turn off an iteration: at once ------------------------------------------------

def test_take_turn_off_an_iteration_returns_at_once_and_in_iteration_is_false():
    take_turn()                                   # the calling thread
    assert not in_iteration()
    seen = []
    thread = threading.Thread(target=lambda: seen.append((take_turn(), in_iteration())))
    thread.start()
    thread.join()
    assert seen == [(None, False)]                # a thread not running an iteration

    def body(x):
        before = in_iteration()
        take_turn()
        return (None, before, in_iteration())

    assert list(run_inline(body, range(3))) == [(None, False, False)] * 3


def test_take_turn_costs_next_to_nothing_off_an_iteration():
    start = time.perf_counter()
    for _ in range(100_000):
        take_turn()
    per_call = (time.perf_counter() - start) / 100_000
    assert per_call < 5e-6                        # one thread-local lookup (~50 ns); generous bound


def test_in_iteration_is_true_on_a_worker_until_the_turn_is_taken_and_a_second_take_is_free():
    def body(x):
        before = in_iteration()
        take_turn()
        after = in_iteration()
        take_turn()                               # already has the turn: returns at once
        return (None, before, after)

    assert list(ordered_map(body, range(6), max_workers=3)) == [(None, True, False)] * 6


# --- the turn: after the commit parts of all earlier iterations --------------------------

@pytest.mark.parametrize("workers, window", [(2, None), (4, None), (3, 6), (1, 3)])
def test_effects_after_take_turn_interleave_with_the_commit_parts_exactly_as_plain(workers, window):
    def make():
        log = []

        def body(x):
            log.append(("map", x))                # before the turn: may run in any order
            shrinking(x)
            take_turn()
            log.append(("ordered", x))
            return (None, x)

        return log, body

    plain_log, body = make()
    assert plain(body, range(12), lambda r: plain_log.append(("commit", r[1]))) is None
    log, body = make()
    assert parallel(body, range(12), lambda r: log.append(("commit", r[1])),
                    max_workers=workers, window=window) is None
    ordered = [entry for entry in log if entry[0] != "map"]
    assert ordered == [entry for entry in plain_log if entry[0] != "map"]
    assert sorted(log) == sorted(plain_log)


def test_the_turn_comes_only_after_the_calling_thread_came_back_for_the_iteration():
    committed = []
    seen = []

    def body(x):
        take_turn()
        seen.append((x, list(committed)))
        return (None, x)

    for result in ordered_map(body, range(8), max_workers=4):
        time.sleep(0.002)                         # a slow commit part: workers must wait
        committed.append(result[1])
    assert seen == [(x, list(range(x))) for x in range(8)]


def test_the_part_before_take_turn_overlaps():
    barrier = threading.Barrier(4, timeout=10)    # passes only if 4 bodies run at once
    meter = Meter()

    def body(x):
        with meter:
            if x < 4:
                barrier.wait()
        take_turn()
        return (None, x)

    assert list(ordered_map(body, range(8), max_workers=4)) == [(None, x) for x in range(8)]
    assert meter.peak == 4


def test_iterations_that_never_take_the_turn_never_wait():
    n = 6
    barrier = threading.Barrier(n, timeout=10)    # every iteration is in its body at once

    def body(x):
        barrier.wait()
        return (None, x)

    assert list(ordered_map(body, range(n), max_workers=n)) == [(None, x) for x in range(n)]


def test_take_turn_below_the_body_and_in_a_nested_inline_loop_takes_the_outer_iterations_turn():
    log = []

    def deep(x, y):
        take_turn()
        log.append((x, y))

    def inner(y, x):
        deep(x, y)
        return (None, y)

    def outer(x):
        shrinking(x)
        got = list(ordered_map(inner, range(3), (x,), max_workers=5))   # runs inline here
        return (None, [r[1] for r in got], in_iteration())

    results = list(ordered_map(outer, range(6), max_workers=3))
    assert results == [(None, [0, 1, 2], False)] * 6
    assert log == [(x, y) for x in range(6) for y in range(3)]


# --- abandonment ------------------------------------------------------------------------

def _waiting_bodies(fail_at=None, started=None, unwound=None):
    def body(x):
        try:
            if started is not None:
                started.wait()
            if x == fail_at:
                time.sleep(0.05)                  # the later ones are waiting by now
                raise Boom(x)
            take_turn()
            return (None, x)
        except BaseException as error:
            if unwound is not None:
                unwound.append((x, type(error)))
            raise
    return body


def test_a_failure_abandons_the_later_iterations_waiting_for_their_turn():
    unwound = []
    start = threading.Barrier(4, timeout=10)
    results = list(ordered_map(_waiting_bodies(fail_at=1, started=start, unwound=unwound),
                               range(4), max_workers=4))
    assert results[0] == (None, 0)
    assert len(results) == 2 and isinstance(results[1][0], Boom)
    drain(4)
    assert sorted(unwound) == [(1, Boom), (2, Abandoned), (3, Abandoned)]


@pytest.mark.parametrize("how", ["close", "break", "gc"])
def test_closing_the_iterator_abandons_the_iterations_waiting_for_their_turn(how):
    unwound = []
    start = threading.Barrier(3, timeout=10)
    it = ordered_map(_waiting_bodies(started=start, unwound=unwound), range(3), max_workers=3)
    if how == "break":
        for result in it:
            break
    else:
        assert next(it) == (None, 0)
    if how == "close":
        it.close()
    del it
    drain(3)
    assert sorted(unwound) == [(1, Abandoned), (2, Abandoned)]


def test_keyboard_interrupt_on_the_calling_thread_abandons_the_waiting_iterations(python_sigint):
    unwound = []
    release = threading.Event()
    waiting = threading.Barrier(2, timeout=10)

    def body(x):
        try:
            if x == 0:
                release.wait(10)
                return (None, x)
            waiting.wait()
            take_turn()
            return (None, x)
        except BaseException as error:
            unwound.append((x, type(error)))
            raise

    def interrupter():
        wait_until_main_thread_waits()
        _thread.interrupt_main()

    helper = threading.Thread(target=interrupter)
    it = ordered_map(body, range(3), max_workers=3)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            next(it)
    finally:
        release.set()
        helper.join()
    drain(3)
    assert sorted(unwound) == [(1, Abandoned), (2, Abandoned)]


def test_an_abandoned_body_asking_for_the_turn_again_while_unwinding_raises_abandoned_again():
    seen = []
    waiting = threading.Event()

    def body(x):
        if x == 0:
            assert waiting.wait(10)     # iteration 1 is on its way to wait for the turn
            time.sleep(0.05)
            raise Boom
        try:
            waiting.set()
            take_turn()
        finally:
            try:
                take_turn()
            except Abandoned:
                seen.append(x)

    results = list(ordered_map(body, range(2), max_workers=2))
    assert isinstance(results[0][0], Boom) and len(results) == 1
    drain(2)
    assert seen == [1]


def test_abandoned_is_a_base_exception_so_except_exception_does_not_swallow_it():
    assert issubclass(Abandoned, BaseException) and not issubclass(Abandoned, Exception)


# --- iterations the calling thread runs itself -------------------------------------------

def test_a_queued_iteration_of_a_saturated_pool_runs_on_the_calling_thread_with_the_turn():
    size = 2
    hold = threading.Event()
    holding = threading.Barrier(size + 1, timeout=10)
    blockers = [pool(size).submit(lambda: (holding.wait(), hold.wait(10))) for _ in range(size)]
    holding.wait()                                # both threads run a blocker
    seen = []

    def body(x):
        before = in_iteration()
        take_turn()                               # must not wait: it has the turn
        seen.append((x, threading.get_ident(), before))
        return (None, x)

    try:
        assert list(ordered_map(body, range(4), max_workers=size)) == [(None, x) for x in range(4)]
    finally:
        hold.set()
    for future in blockers:
        future.result(10)
    me = threading.get_ident()
    assert seen == [(x, me, False) for x in range(4)]


# --- audit-hook turn points -------------------------------------------------------------

def _fetch_then_write(path, gate, meter):
    """Blocks ("fetch"), then writes: the kind of helper a loop calls per item."""
    def body(x):
        with meter:
            gate(x)
            shrinking(x)
        with open(path, "w") as f:
            f.write(f"item {x}\n")
        with open(path + ".log", "a") as log:
            log.write(f"{x}\n")
        return (None, x)
    return body


def test_file_writes_after_a_blocking_fetch_happen_in_order_and_the_fetches_overlap(tmp_path):
    n = 8
    expected_dir = tmp_path / "plain"
    expected_dir.mkdir()
    path = str(expected_dir / "out")
    assert plain(_fetch_then_write(path, lambda x: None, Meter()), range(n), lambda r: None) is None
    expected = (open(path).read(), open(path + ".log").read())

    got_dir = tmp_path / "xcs"
    got_dir.mkdir()
    path = str(got_dir / "out")
    barrier = threading.Barrier(4, timeout=10)
    meter = Meter()
    gate = lambda x: barrier.wait() if x < 4 else None   # noqa: E731 - 4 fetches at once
    assert parallel(_fetch_then_write(path, gate, meter), range(n), lambda r: None, max_workers=4) is None
    assert (open(path).read(), open(path + ".log").read()) == expected
    assert expected[0] == f"item {n - 1}\n" and expected[1] == "".join(f"{x}\n" for x in range(n))
    assert meter.peak == 4


def test_reading_a_file_is_not_a_turn_point(tmp_path):
    path = tmp_path / "in"
    path.write_text("data")
    fd_path = str(path)

    def body(x):
        with open(fd_path) as f:
            f.read()
        with open(fd_path, "rb") as f:
            f.read()
        os.close(os.open(fd_path, os.O_RDONLY))
        return (None, in_iteration())

    assert list(ordered_map(body, range(4), max_workers=2)) == [(None, True)] * 4


def _effects(tmp):
    """name -> a call raising that audit event, each on its own fresh path under `tmp`."""
    def fresh(name):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("x")
        return path

    return {
        "open w": lambda p: open(p, "w").close(),
        "open a": lambda p: open(p, "a").close(),
        "open r+": lambda p: open(p, "r+").close(),
        "os.open O_CREAT": lambda p: os.close(os.open(p + "new", os.O_WRONLY | os.O_CREAT)),
        "os.remove": os.remove,
        "os.unlink": os.unlink,
        "os.rename": lambda p: os.rename(p, p + "2"),
        "os.replace": lambda p: os.replace(p, p + "2"),
        "os.mkdir": lambda p: os.mkdir(p + "d"),
        "os.rmdir": lambda p: os.rmdir(_mkdir(p + "d")),
        "os.chmod": lambda p: os.chmod(p, 0o644),
        "os.chown": lambda p: os.chown(p, -1, -1),
        "os.link": lambda p: os.link(p, p + "l"),
        "os.symlink": lambda p: os.symlink(p, p + "s"),
        "os.truncate": lambda p: os.truncate(p, 0),
        "os.utime": lambda p: os.utime(p),
        "os.putenv": lambda p: os.environ.__setitem__("XCS_TURN_TEST", "1"),
        "os.unsetenv": lambda p: os.environ.pop("XCS_TURN_TEST", None) or os.unsetenv("XCS_TURN_TEST"),
        "os.chdir": lambda p: os.chdir(os.getcwd()),
        "shutil.copyfile": lambda p: shutil.copyfile(p, p + "c"),
        "shutil.copymode": lambda p: shutil.copymode(p, fresh(os.path.basename(p) + "m")),
        "shutil.copystat": lambda p: shutil.copystat(p, fresh(os.path.basename(p) + "s")),
        "shutil.move": lambda p: shutil.move(p, p + "mv"),
        "shutil.rmtree": lambda p: shutil.rmtree(_mkdir(p + "t")),
        "os.kill": lambda p: os.kill(os.getpid(), 0),
        "os.system": lambda p: os.system("true"),
        "signal.pthread_kill": lambda p: __import__("signal").pthread_kill(threading.get_ident(), 0),
    }, fresh


def _mkdir(path):
    os.mkdir(path)
    return path


def test_the_turn_events_are_the_documented_ones():
    for name in ("os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chdir", "os.chmod", "os.chown",
                 "os.link", "os.symlink", "os.truncate", "os.utime", "os.putenv", "os.unsetenv",
                 "os.chflags", "os.lchflags", "shutil.rmtree", "shutil.copyfile", "shutil.copymode",
                 "shutil.copystat", "shutil.move", "os.kill", "os.system", "signal.pthread_kill"):
        assert name in TURN_EVENTS


def test_each_effect_takes_the_turn_before_it_happens(tmp_path):
    effects, fresh = _effects(str(tmp_path))
    names = sorted(effects)
    paths = {name: fresh(f"f{n}") for n, name in enumerate(names)}
    try:
        def body(name):
            before = in_iteration()
            effects[name](paths[name])
            return (None, name, before, in_iteration())

        results = list(ordered_map(body, names, max_workers=3))
    finally:
        os.environ.pop("XCS_TURN_TEST", None)
    assert results == [(None, name, True, False) for name in names]


# --- effects nobody can observe are not turn points (they are made under library locks) --

def test_opening_os_devnull_under_a_lock_an_earlier_iteration_needs_does_not_deadlock():
    # Iteration 1 holds the lock while opening os.devnull for writing (as a subprocess
    # launched under functools.cached_property's lock does on 3.11); iteration 0 needs the
    # lock. Were that open a turn point, 1 would wait for 0 and 0 for the lock.
    lock = threading.Lock()
    one_holds = threading.Event()

    def body(x):
        if x == 1:
            with lock:
                one_holds.set()
                time.sleep(0.05)
                with open(os.devnull, "w") as f:
                    f.write("nothing")
                still = in_iteration()
            return (None, x, still)
        assert one_holds.wait(10)
        assert lock.acquire(timeout=10), "deadlock: iteration 1 waits for its turn holding the lock"
        lock.release()
        return (None, x, in_iteration())

    assert list(ordered_map(body, range(2), max_workers=2)) == [(None, 0, True), (None, 1, True)]


def test_writing_a_modules_bytecode_cache_on_import_is_not_a_turn_point(tmp_path, monkeypatch):
    import importlib
    import sys as _sys

    (tmp_path / "xcs_turn_probe_mod.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_sys, "dont_write_bytecode", False)
    importlib.invalidate_caches()

    def body(x):
        module = importlib.import_module("xcs_turn_probe_mod")
        return (None, module.VALUE, in_iteration())

    try:
        assert list(ordered_map(body, range(2), max_workers=2)) == [(None, 42, True)] * 2
    finally:
        _sys.modules.pop("xcs_turn_probe_mod", None)
    assert list((tmp_path / "__pycache__").glob("xcs_turn_probe_mod*.pyc"))


def test_input_reads_the_shared_stdin_in_order(monkeypatch):
    import io as text_io
    import sys as _sys

    def body(x):
        shrinking(x)
        before = in_iteration()
        line = input()
        return (None, before, line, in_iteration())

    monkeypatch.setattr(_sys, "stdin", text_io.StringIO("".join(f"line {n}\n" for n in range(6))))
    results = list(ordered_map(body, range(6), max_workers=3))
    assert results == [(None, True, f"line {n}", False) for n in range(6)]
