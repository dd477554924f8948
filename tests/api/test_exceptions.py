"""Exceptions in a parallel loop behave as in sequential code.

The earliest failing iteration's exception propagates, with the commits of all earlier
iterations applied and none of the later ones; iterations not started never start; the
traceback names the user's lines, not XCS's.
"""
from __future__ import annotations

import os
import threading
import traceback

import pytest

import xcs
from tests.corpus.probe import fail_on, io, measuring

ITEMS = list(range(10))


def collect(xs, out, bad):
    for x in xs:
        out.append(fail_on(x, bad))
    return out


def collect_two_failures(xs, out):
    for x in xs:
        out.append(10 // (io(x) - 7) + 100 // (io(x) - 3))
    return out


@pytest.mark.parametrize("bad", [0, 3, 9])
def test_earliest_failure_with_committed_prefix(bad):
    expected_out = []
    with pytest.raises(ValueError) as expected:
        collect(ITEMS, expected_out, bad)
    jitted = xcs.jit(collect)
    got_out = []
    with measuring():
        with pytest.raises(ValueError) as got:
            jitted(ITEMS, got_out, bad)
    assert str(got.value) == str(expected.value)
    assert got_out == expected_out == list(range(bad))


def test_earlier_iteration_wins_even_if_it_fails_later_in_time():
    """Item 3 fails after item 7 has already failed on another thread: 3's error is raised."""
    release = threading.Event()

    def slow_three(x):
        if x == 3:
            release.wait(5)
            raise KeyError("three")
        if x == 7:
            try:
                raise IndexError("seven")
            finally:
                release.set()
        return io(x)

    def loop(xs, out):
        for x in xs:
            out.append(slow_three(x))
        return out

    out = []
    with pytest.raises(KeyError):
        xcs.jit(loop, parallel=True)(ITEMS, out)
    assert out == [0, 1, 2]


def test_later_iterations_do_not_start(monkeypatch):
    started = []
    gate = threading.Event()

    def work(x):
        started.append(x)
        if x == 2:
            raise RuntimeError("stop")
        gate.wait(0.05)
        return x

    def loop(xs, out):
        for x in xs:
            out.append(work(x))
        return out

    xcs.configure(max_workers=2)
    try:
        out = []
        with pytest.raises(RuntimeError):
            xcs.jit(loop, parallel=True)(range(100), out)
    finally:
        xcs.configure(max_workers=64)
    assert out == [0, 1]
    assert len(started) < 10, f"{len(started)} iterations started after the failure"


def test_traceback_points_at_user_lines():
    def loop(xs, out):
        for x in xs:
            out.append(fail_on(x, 2))
        return out

    package = os.path.dirname(xcs.__file__)
    jitted = xcs.jit(loop)
    for _ in range(2):  # the first call (which compiles) and a later one
        with pytest.raises(ValueError) as info:
            jitted(ITEMS, [])
        frames = traceback.extract_tb(info.value.__traceback__)
        where = [(f.name, f.line) for f in frames]
        assert frames[-1].name == "fail_on", where
        assert ("loop", "out.append(fail_on(x, 2))") in where, where
        assert not [f for f in frames if f.filename.startswith(package)], where


def test_exception_inside_except_block_keeps_context():
    def loop(xs):
        try:
            raise LookupError("outer")
        except LookupError:
            for x in xs:
                fail_on(x, 1)

    with pytest.raises(ValueError) as expected:
        loop(ITEMS)
    with pytest.raises(ValueError) as got:
        xcs.jit(loop)(ITEMS)
    assert type(got.value.__context__) is type(expected.value.__context__) is LookupError
