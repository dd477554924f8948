"""`xcs.explain(fn)` before the first run: what the code alone decides, else what the run will."""
from __future__ import annotations

import time

import xcs


def sleeps(xs):
    out = []
    for x in xs:
        time.sleep(0.001)
        out.append(x)
    return out


def helper(x):
    return x + 1


def calls_a_helper(xs):
    out = []
    for x in xs:
        out.append(helper(x))
    return out


def no_loop(x):
    return x


def test_a_known_blocking_call_is_reported_parallel_before_any_run():
    [report] = xcs.explain(sleeps)
    assert report.status == "undecided" and report.parallel
    assert str(report).endswith("parallel [blocking: `time.sleep` — known from the code; the first run confirms it]"
                                "; in order: line 13")
    fast = xcs.jit(sleeps)
    assert fast([1, 2, 3]) == sleeps([1, 2, 3])
    [after] = xcs.explain(fast)
    assert after.parallel and "blocking: `time.sleep`" in str(after) and "known from the code" not in str(after)


def test_a_loop_the_code_does_not_decide_says_the_first_run_will():
    [report] = xcs.explain(calls_a_helper)
    assert report.current_status() == "undecided" and not report.parallel
    assert "[the first run decides: its first iteration runs alone and is measured; parallel if it spent most " \
           "of its time blocked]" in str(report)


def test_a_function_without_loops_says_so():
    reports = xcs.explain(no_loop)
    assert reports == [] and str(reports) == repr(reports) == "no `for` loops"
