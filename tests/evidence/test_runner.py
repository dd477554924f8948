"""LoopRunner driven directly, with hand-made loop bodies and the real runtime.

A body is `body(item, *args) -> (None, value)`, as the transform builds them. Parallelism
is proven with barriers that only open when the iterations overlap; equality with
sequential execution by comparing against `[body(x, *args) for x in items]`.
"""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from xcs.api.words import decision_words
from xcs.evidence import runner as runner_module
from xcs.evidence.probe import Probe
from xcs.evidence.runner import LoopRunner
from xcs.evidence.site import LoopSite

TIMEOUT = 10.0


def site(line=1):
    return LoopSite("test_fn", __file__, line, 10)


class Member:
    """An ensemble member whose blocking is invisible to static evidence: it sits behind a
    method of the loop's item, whose type is only known at run time."""

    def __init__(self, k, barrier=None, delay=0.0):
        self.k, self.barrier, self.delay = k, barrier, delay

    def predict(self, prompt):
        if self.barrier is not None:
            self.barrier.wait()
        if self.delay:
            time.sleep(self.delay)
        return f"{prompt}-{self.k}", threading.get_ident()


def ensemble_body(item, prompt):
    return (None, item.predict(prompt))


def spin(x, n=100_000):
    total = 0
    for i in range(n):
        total += i ^ x
    return total, threading.get_ident()


def cpu_body(item):
    return (None, spin(item))


def nap_then_meet(x, barrier):
    barrier.wait()
    time.sleep(0.001)
    return x * 2, threading.get_ident()


def static_body(item, barrier):
    return (None, nap_then_meet(item, barrier))


def run(runner, items, body, args=()):
    return list(runner(iter(items), body, args))


class Decided:
    def __init__(self):
        self.calls = []

    def __call__(self, runner):
        self.calls.append(runner.decision)


def test_ensemble_runs_in_parallel_from_the_second_iteration():
    n = 5
    rest = threading.Barrier(n - 1, timeout=TIMEOUT)
    items = [Member(0, delay=0.03)] + [Member(k, barrier=rest) for k in range(1, n)]
    decided = Decided()
    runner = LoopRunner(site(), policy="auto", on_decided=decided)
    results = run(runner, items, ensemble_body, ("p",))
    assert [r[1][0] for r in results] == [f"p-{k}" for k in range(n)]
    assert all(r[0] is None for r in results)
    assert results[0][1][1] == threading.get_ident(), "the probed first iteration runs on the calling thread"
    assert runner.decision.parallel and runner.decision.source == "probe"
    assert decision_words(runner.decision).startswith("blocked ") and "time.sleep" in decision_words(runner.decision)
    assert decided.calls == [runner.decision]

    # Later calls: parallel from the first iteration on, no probe.
    everyone = threading.Barrier(n, timeout=TIMEOUT)
    again = run(runner, [Member(k, barrier=everyone) for k in range(n)], ensemble_body, ("q",))
    assert [r[1][0] for r in again] == [f"q-{k}" for k in range(n)]
    assert decided.calls == [runner.decision]


def test_cpu_bound_loop_is_probed_once_then_sequential(monkeypatch):
    probes = []

    class CountingProbe(Probe):
        def __enter__(self):
            probes.append(self)
            return super().__enter__()

    monkeypatch.setattr(runner_module, "Probe", CountingProbe)
    decided = Decided()
    runner = LoopRunner(site(), on_decided=decided)
    items = [1, 2, 3, 4]
    expected = [cpu_body(x) for x in items]
    results = run(runner, items, cpu_body)
    assert [r[1][0] for r in results] == [e[1][0] for e in expected]
    assert {r[1][1] for r in results} == {threading.get_ident()}
    assert not runner.decision.parallel and decision_words(runner.decision).startswith("CPU-bound: ")
    assert len(probes) == 1 and decided.calls == [runner.decision]
    results = run(runner, items, cpu_body)
    assert {r[1][1] for r in results} == {threading.get_ident()}
    assert len(probes) == 1 and len(decided.calls) == 1


def test_static_evidence_parallel_from_the_first_iteration():
    n = 4
    barrier = threading.Barrier(n, timeout=TIMEOUT)
    runner = LoopRunner(site())
    results = run(runner, range(n), static_body, (barrier,))
    assert [r[1][0] for r in results] == [0, 2, 4, 6]
    assert runner.decision.source == "static" and "time.sleep" in decision_words(runner.decision)


def test_policy_true_skips_the_probe_and_policy_false_never_overlaps():
    n = 4
    barrier = threading.Barrier(n, timeout=TIMEOUT)
    runner = LoopRunner(site(), policy=True)
    results = run(runner, [Member(k, barrier=barrier) for k in range(n)], ensemble_body, ("p",))
    assert [r[1][0] for r in results] == [f"p-{k}" for k in range(n)]
    sequential = LoopRunner(site(), policy=False)
    results = run(sequential, [Member(k, delay=0.002) for k in range(n)], ensemble_body, ("p",))
    assert {r[1][1] for r in results} == {threading.get_ident()}
    assert decision_words(sequential.decision) == "parallel=False was requested"


def sqlite_body(item, conn):
    time.sleep(0.001)
    return (None, conn.execute("select ? * 2", (item,)).fetchone()[0])


def row_body(item):
    time.sleep(0.01)
    return (None, item.execute("select 7").fetchone()[0])


@pytest.mark.parametrize("policy", ["auto", True])
def test_sqlite_connection_input_is_never_parallelized(policy):
    conn = sqlite3.connect(":memory:")
    try:
        runner = LoopRunner(site(), policy=policy)
        for _ in range(2):
            results = run(runner, [1, 2, 3], sqlite_body, (conn,))
            assert [r for r in results] == [(None, 2), (None, 4), (None, 6)]
    finally:
        conn.close()
    if policy == "auto":
        assert not runner.decision.parallel
        assert decision_words(runner.decision) == "thread-affine: `conn` is a `sqlite3.Connection`"


def test_sqlite_connections_as_items_stay_sequential():
    conns = [sqlite3.connect(":memory:") for _ in range(3)]
    try:
        runner = LoopRunner(site())
        assert run(runner, conns, row_body) == [(None, 7)] * 3
        assert decision_words(runner.decision) == "thread-affine: the loop's items are `sqlite3.Connection`"
        # Decided parallel by static evidence, a later call with connections still runs inline.
        other = LoopRunner(site(2), policy=True)
        assert run(other, conns, row_body) == [(None, 7)] * 3
    finally:
        for c in conns:
            c.close()


def failing_body(item):
    if item == "bad":
        raise ValueError("bad item")
    return (None, item)


def test_first_iteration_failure_stops_and_leaves_the_loop_undecided():
    runner = LoopRunner(site())
    results = run(runner, ["bad", "never"], failing_body)
    assert len(results) == 1 and isinstance(results[0][0], ValueError)
    assert runner.decision is None


def test_empty_loop_is_not_decided():
    runner = LoopRunner(site())
    assert run(runner, [], cpu_body) == []
    assert runner.decision is None


def test_items_are_pulled_lazily_and_in_order():
    pulled = []

    def items():
        for k in range(4):
            pulled.append(k)
            yield Member(k, delay=0.02 if k == 0 else 0.0)

    runner = LoopRunner(site())
    it = runner(items(), ensemble_body, ("p",))
    first = next(it)
    assert first[1][0] == "p-0" and pulled == [0]
    assert [r[1][0] for r in it] == ["p-1", "p-2", "p-3"] and pulled == [0, 1, 2, 3]


def test_concurrent_first_calls_decide_once():
    decided = Decided()
    runner = LoopRunner(site(), on_decided=decided)
    errors = []

    def call():
        try:
            run(runner, [1, 2], cpu_body)
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(decided.calls) == 1 and decided.calls[0] is runner.decision


def test_rejects_unknown_policy():
    with pytest.raises(ValueError):
        LoopRunner(site(), policy="sometimes")


@pytest.mark.parametrize("policy", ["auto", True])
def test_a_failing_iterable_is_reported_as_the_runtime_reports_it(policy):
    def broken():
        raise LookupError("no items")
        yield  # noqa: unreachable

    runner = LoopRunner(site(), policy=policy)
    results = list(runner(broken(), cpu_body, ()))
    assert len(results) == 1 and isinstance(results[0][0], LookupError)
    assert runner.decision is None


def test_a_loop_started_on_a_worker_runs_inline():
    from xcs.runtime import ordered_map

    inner = LoopRunner(site(3), policy=True)
    n = 3
    meet = threading.Barrier(n, timeout=TIMEOUT)

    def inner_body(item):
        return (None, threading.get_ident())

    def outer_body(item):
        meet.wait()
        idents = [r[1] for r in inner(iter(range(4)), inner_body, ())]
        return (None, set(idents) == {threading.get_ident()})

    assert [r[1] for r in ordered_map(outer_body, range(n), ())] == [True] * n


def test_a_check_that_fails_itself_runs_the_loop_in_order():
    from xcs.evidence.runner import LoopRunner
    from xcs.evidence.site import LoopSite

    def broken(*_):
        raise RuntimeError("bug in a check")

    def body(item, scale):
        return (None, -1, None, item * scale)

    for checks in ({"precheck": broken}, {"iterable_check": broken}, {"item_check": broken}):
        runner = LoopRunner(LoopSite("f", "f.py", 1, 0), policy=True, **checks)
        results = list(runner([1, 2, 3], body, (10,)))
        assert [r[3] for r in results] == [10, 20, 30]
