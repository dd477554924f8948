"""The probe on sleeping, CPU-bound, thread-affine and printing iterations.

These check the probe's *classification* (what share was blocked and where), never a speed.
A sleep spends its wall time inside one C call with the CPU idle; a pure-Python loop spends
no time inside C calls, so it reads as unblocked even if the machine deschedules it.
"""
from __future__ import annotations

import contextlib
import io
import socket
import sqlite3
import sys
import threading
import time

import pytest

from xcs.api.words import decision_words
from xcs.evidence.decision import BLOCKED_FRACTION, MIN_WALL, Grounds, from_probe
from xcs.evidence.probe import Probe, ProbeResult


def spin(n=200_000):
    total = 0
    for i in range(n):
        total += i * i
    return total


def test_sleep_is_blocked_in_time_sleep():
    with Probe() as probe:
        time.sleep(0.03)
    result = probe.result
    assert result.profiled
    assert result.blocked_fraction >= BLOCKED_FRACTION
    assert result.top == "time.sleep"
    decision = from_probe(result)
    assert decision.parallel
    assert decision.grounds is Grounds.BLOCKED and decision.subject == "time.sleep"
    assert decision_words(decision).startswith("blocked ") and decision_words(decision).endswith("in `time.sleep`")


def test_socket_wait_is_attributed_to_recv():
    a, b = socket.socketpair()
    timer = threading.Timer(0.03, b.sendall, (b"x",))
    timer.start()
    try:
        with Probe() as probe:
            a.recv(1)
    finally:
        timer.join()
        a.close()
        b.close()
    assert probe.result.top == "_socket.socket.recv"
    assert from_probe(probe.result).parallel


def test_cpu_bound_python_is_not_blocked():
    with Probe() as probe:
        spin()
    result = probe.result
    assert result.wall >= MIN_WALL, "the workload must be long enough to be judged on its blocked share"
    assert result.blocked_fraction < BLOCKED_FRACTION
    decision = from_probe(result)
    assert not decision.parallel and decision.grounds is Grounds.CPU_BOUND
    assert decision_words(decision).startswith("CPU-bound: ")


@pytest.mark.parametrize("result, parallel, words", [
    (ProbeResult(0.102, 0.003, 0.099, "_socket.socket.recv_into", (), (), True), True,
     "blocked 97% of 102 ms in `_socket.socket.recv_into`"),
    (ProbeResult(0.012, 0.012, 0.0, None, (), (), True), False, "CPU-bound: 0% blocked (of 12 ms)"),
    (ProbeResult(0.0004, 0.0001, 0.0003, "time.sleep", (), (), True), False,
     "too short to pay: 0.4 ms per iteration (75% blocked)"),
    (ProbeResult(0.05, 0.001, 0.049, "time.sleep", ("sqlite3.Connection.execute",), (), True), False,
     "thread-affine: `sqlite3.Connection.execute`"),
    (ProbeResult(0.05, 0.001, 0.049, "time.sleep", (), ("warnings.warn",), True), False,
     "ordered output in the map part: `warnings.warn`"),
    # print and logging are captured on workers and replayed in order: no reason to stay in order.
    (ProbeResult(0.05, 0.001, 0.049, "time.sleep", (), ("builtins.print", "logging.Logger.info"), True), True,
     "blocked 98% of 50 ms in `time.sleep`"),
], ids=["blocked", "cpu-bound", "too-short", "thread-affine", "ordered", "captured"])
def test_decision_words(result, parallel, words):
    decision = from_probe(result)
    assert decision.parallel is parallel and decision_words(decision) == words


def test_sqlite_call_is_thread_affine():
    conn = sqlite3.connect(":memory:")
    try:
        with Probe() as probe:
            conn.execute("select 1").fetchall()
            time.sleep(0.01)
    finally:
        conn.close()
    assert "sqlite3.Connection.execute" in probe.result.thread_affine
    decision = from_probe(probe.result)
    assert not decision.parallel and decision.grounds is Grounds.THREAD_AFFINE
    assert decision_words(decision).startswith("thread-affine: ")


def test_print_is_ordered_output():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), Probe() as probe:
        print("hello")
        time.sleep(0.01)
    assert out.getvalue() == "hello\n"
    assert "builtins.print" in probe.result.ordered
    # Seen, but captured on workers and replayed in order: the decision goes by the time blocked.
    assert from_probe(probe.result).parallel


def test_nested_c_calls_attribute_the_inner_wait():
    with Probe() as probe:
        sorted([2, 1], key=lambda x: time.sleep(0.02) or x)
    assert probe.result.top == "time.sleep"


def test_probe_restores_and_respects_another_profiler():
    calls = []

    def other(frame, event, arg):
        calls.append(event)

    sys.setprofile(other)
    try:
        with Probe() as probe:
            time.sleep(0.01)
        assert sys.getprofile() is other
    finally:
        sys.setprofile(None)
    assert not probe.result.profiled and probe.result.top is None
    assert "c_call" in calls      # the user's profiler kept seeing the iteration
    assert sys.getprofile() is None


def test_probe_is_removed_after_an_exception():
    try:
        with Probe():
            raise KeyError("x")
    except KeyError:
        pass
    assert sys.getprofile() is None


def test_too_many_c_calls_stop_the_profiling_but_not_the_measurement(monkeypatch):
    from xcs.evidence import probe as probe_module

    monkeypatch.setattr(probe_module, "MAX_EVENTS", 1000)
    with Probe() as probe:
        for _ in range(5000):
            len("x")
        assert sys.getprofile() is None, "the profiler must remove itself after MAX_EVENTS C calls"
    assert probe.result.wall > 0 and probe.result.profiled
