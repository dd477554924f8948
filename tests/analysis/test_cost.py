"""The cost of analysis is bounded: a budget on the function's size, and no superlinear step.

CPython's `test_sys_settrace.test_jump_extended_args_for_iter` builds a loop body of 100,000
statements; `xcs.enable()` used to spend more than 300 s on it (0.4 ms per statement).
A function over `budget.MAX_INSTRUCTIONS` is not analysed (each loop "too-large"), and
below it the work is linear: these tests count the work instead of timing it, except for
generous bounds on the 100,000-statement case.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from bytecode import Instr

import xcs
from tests.corpus.probe import io, measuring
from xcs.analysis import analyze, budget
from xcs.analysis.normalize import normalize
from xcs.analysis.split import LoopAnalysis
from xcs.evidence.environment import environment

HUGE = 100_000


def build(body: list[str], name: str, before=("out.append(1)",), after=("out.append(3)",), target="_"):
    """A function `name(out, items)` whose loop over `items` runs `body` (one line each)."""
    lines = [f"def {name}(out, items):", *(f"    {s}" for s in before), f"    for {target} in items:",
             *(f"        {s}" for s in body), *(f"    {s}" for s in after), "    return out"]
    namespace = {"io": io}
    exec(compile("\n".join(lines), f"<xcs-cost-{name}>", "exec"), namespace)
    return namespace[name]


def huge(name):
    # The shape of test_jump_extended_args_for_iter: one append per line, 100,000 lines.
    return build([f"out.append({i})" for i in range(3, HUGE)], name)


def plain_result(fn, items):
    return fn([], items)


def test_a_function_over_the_budget_is_not_analysed_and_says_why():
    fn = huge("over_budget")
    count = budget.instruction_count(fn.__code__)
    assert count > budget.MAX_INSTRUCTIONS
    started = time.perf_counter()
    reports = xcs.explain(fn)
    assert time.perf_counter() - started < 20   # it took minutes before the budget
    (report,) = reports
    text = str(report)
    assert report.status == "sequential" and report.line == fn.__code__.co_firstlineno + 2
    assert f"the function has {count:,} instructions (limit {budget.MAX_INSTRUCTIONS:,})" in text
    assert "more than XCS analyses" in text and "split the loop body into a function" in text


def test_a_function_over_the_budget_runs_under_jit_as_plain():
    fn = huge("jitted_over_budget")
    expected = plain_result(fn, [1, 2])
    started = time.perf_counter()
    got = xcs.jit(fn)([], [1, 2])
    assert time.perf_counter() - started < 20
    assert got == expected and len(got) == 2 + 2 * (HUGE - 3)


def test_each_loop_of_a_function_over_the_budget_is_reported():
    filler = [f"x{i} = items" for i in range(budget.MAX_INSTRUCTIONS // 2 + 10)]
    fn = build(["out.append(io(_))"], "two_loops", before=filler, after=("for y in items:", "    out.append(io(y))"))
    facts = analyze(fn.__code__, environment(fn))
    assert facts.refusal is not None and facts.refusal.kind == "too-large"
    first = fn.__code__.co_firstlineno
    assert [lp.line for lp in facts.loops] == [first + 1 + len(filler), first + 3 + len(filler)]
    assert all(not lp.parallel and [r.kind for r in lp.reasons] == ["too-large"] for lp in facts.loops)
    reports = xcs.explain(fn)
    assert [r.status for r in reports] == ["sequential", "sequential"]
    assert all("instructions (limit" in str(r) for r in reports)
    assert xcs.jit(fn)([], [1, 2]) == plain_result(fn, [1, 2])


CHILD = textwrap.dedent("""
    import json, sys, time
    sys.path[:0] = json.loads(sys.argv[1])
    import xcs
    from tests.analysis.test_cost import huge
    plain = huge("plain_f")([], [1, 2])
    fn = huge("auto_f")
    xcs.enable()
    started = time.perf_counter()
    got = fn([], [1, 2])
    elapsed = time.perf_counter() - started
    xcs.disable()
    reports = [str(r) for rs in xcs.api.compiler.all_reports().values() for r in rs if r.function == "auto_f"]
    print(json.dumps({"equal": got == plain, "elapsed": elapsed, "reports": reports}))
""")


def test_a_function_over_the_budget_runs_under_enable_as_plain():
    import json

    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(sys.path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["equal"]
    assert result["elapsed"] < 20, result   # more than 300 s before the budget
    assert len(result["reports"]) == 1 and "more than XCS analyses" in result["reports"][0], result


SETTRACE_CHILD = textwrap.dedent("""
    import os, sys, time, unittest
    import test
    if sys.argv[1] == "xcs":
        import xcs
        xcs.enable(include=[os.path.dirname(test.__file__)])
    from test import test_sys_settrace
    suite = unittest.defaultTestLoader.loadTestsFromName(
        "JumpTestCase.test_jump_extended_args_for_iter", test_sys_settrace)
    started = time.perf_counter()
    result = unittest.TextTestRunner(stream=open(os.devnull, "w")).run(suite)
    print(result.testsRun, result.wasSuccessful(), time.perf_counter() - started)
""")


def test_cpythons_100000_statement_loop_under_enable_takes_the_plain_time():
    pytest.importorskip("test.test_sys_settrace")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    runs = {}
    for mode in ("plain", "xcs"):
        out = subprocess.run([sys.executable, "-c", SETTRACE_CHILD, mode], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        ran, ok, elapsed = out.stdout.split()
        assert (ran, ok) == ("1", "True"), (mode, out.stdout, out.stderr)
        runs[mode] = float(elapsed)
    assert runs["xcs"] < runs["plain"] + 20, runs   # more than 300 s before the budget


def test_a_2000_statement_body_is_still_analysed_and_runs_in_parallel():
    body = ["v = io(_)", *(f"w{i} = v + {i}" for i in range(1998)), "out.append(w1997)"]
    fn = build(body, "long_body", before=(), after=())
    assert budget.instruction_count(fn.__code__) <= budget.MAX_INSTRUCTIONS
    (loop,) = analyze(fn.__code__, environment(fn)).loops
    assert loop.parallel and len(loop.statements) == 2002   # the target, 2,000 statements, the end
    assert [s.kind for s in loop.statements[-2:]] == ["commit", "end"]
    items = list(range(6))
    expected = plain_result(fn, items)
    jitted = xcs.jit(fn)
    with measuring(overlap=len(items)) as state:
        got = jitted([], items)
    assert got == expected and state["peak"] == len(items)
    assert any(r.parallel for r in xcs.explain(jitted))


def test_the_budget_counts_the_instructions_normalize_lists():
    from xcs.analysis import split

    for fn in [build, huge, split.LoopAnalysis.facts, split.LoopAnalysis._classify, textwrap.dedent,
               build(["a, b = _", "out.append(a + b)"], "pairs")]:
        instrs = [i for i in normalize(fn.__code__) if isinstance(i, Instr)]
        assert budget.instruction_count(fn.__code__) == len(instrs), fn
        for_iters = [k for k, ins in enumerate(instrs) if ins.name == "FOR_ITER"]
        assert [k for k, _ in budget._for_iters(fn.__code__)] == for_iters, fn


def counting(monkeypatch, owner, name):
    calls = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize("n", [200, 800])
def test_a_chain_of_dependent_statements_is_examined_a_linear_number_of_times(monkeypatch, n):
    # Each link depends on the one before, which is in order only once its own link is:
    # re-examining every statement in every pass took n passes of n statements.
    body = ["y0 = out.pop()", *(f"y{i + 1} = y{i} + 1" for i in range(n)), f"out.append(io(y{n}))"]
    fn = build(body, f"chain{n}", before=(), after=())
    examined = counting(monkeypatch, LoopAnalysis, "_dependency_reason")
    (loop,) = analyze(fn.__code__, environment(fn)).loops
    assert [s.kind for s in loop.statements[1:-1]] == ["commit"] * (n + 2)
    assert loop.statements[2].reasons[0].kind == "commit-read"
    assert len(examined) <= 3 * n   # the pass-by-pass rule: n * n / 2


def test_whole_function_facts_are_computed_once_for_all_its_loops(monkeypatch):
    import xcs.analysis.split as split

    loops = [line for i in range(60) for line in (f"for i{i} in items:", f"    out.append(io(i{i}))")]
    fn = build(["pass"], "many_loops", after=loops)
    whole = []
    original = split.simulate

    def simulate(items, start, stop, *rest):
        if start == 0 and stop == len(items):
            whole.append(start)
        return original(items, start, stop, *rest)

    monkeypatch.setattr(split, "simulate", simulate)
    facts = analyze(fn.__code__, environment(fn))
    assert len(facts.loops) == 61 and sum(lp.parallel for lp in facts.loops) == 60
    assert len(whole) == 1


def test_a_callee_over_the_budget_is_not_read():
    big = huge("big_callee")
    namespace = {"big": big}
    exec(compile(textwrap.dedent("""
        def calls_big(items):
            res = []
            for x in items:
                res.append(big([], [x]))
            return res
    """), "<xcs-cost-calls-big>", "exec"), namespace)
    fn = namespace["calls_big"]
    started = time.perf_counter()
    text = "\n".join(map(str, xcs.explain(fn)))
    assert time.perf_counter() - started < 20   # reading `big` took 50 s
    assert "big_callee has more instructions than XCS reads (limit" in text, text
    assert xcs.jit(fn)([1, 2]) == fn([1, 2])
