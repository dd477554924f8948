"""Output on the cold path of an iteration, written in the loop body itself: a `print` in an
`except` block the body opens (a retry that reports its failure), or in a loop nested in the
body (`for line in run(cmd): print(line, end="")`). It is captured on the worker and replayed
in iteration order, so the statement holding it runs in parallel; the streams are the plain
loop's, byte for byte. Output of a plain statement of the body still runs in order."""
from __future__ import annotations

import sys

import xcs
from tests.hazards.harness import io, measuring, observe


def flaky(x, attempt):
    io(x)
    if x % 3 == 0 and attempt == 0:
        raise ConnectionError(f"item {x} not ready")
    return x * 10


def retry_and_report(xs):
    out = []
    for x in xs:
        value = None
        attempt = 0
        while value is None:
            try:
                value = flaky(x, attempt)
            except ConnectionError:
                error = sys.exc_info()[1]
                print("API error:", error)
                print("retrying", x, file=sys.stderr)
                attempt += 1
        out.append(value)
    return out, x, value, attempt


def lines_of(x):
    io(x)
    return [f"{x}-{k}\n" for k in range(3)]


def stream_lines(xs):
    for x in xs:
        for line in lines_of(x):
            print(line, end="")
    return x


def compare(fn, *args):
    expected = observe(fn, lambda: args)
    jitted = xcs.jit(fn)
    for _ in range(2):
        assert observe(jitted, lambda: args) == expected, str(xcs.explain(jitted))
    return jitted, expected


def test_a_print_in_the_except_block_keeps_the_retry_parallel():
    jitted, expected = compare(retry_and_report, list(range(12)))
    assert "API error: item 3 not ready" in expected["stdout"] and "retrying 9" in expected["stderr"]
    (report,) = xcs.explain(jitted)
    assert report.parallel, str(report)
    with measuring() as gauge:
        jitted(list(range(12)))
        assert gauge["peak"] >= 2, gauge["peak"]


def test_a_print_in_a_nested_loop_streams_in_order():
    jitted, expected = compare(stream_lines, list(range(10)))
    assert expected["stdout"].startswith("0-0\n0-1\n0-2\n1-0\n")
    (report, _inner) = xcs.explain(jitted)
    assert report.parallel, str(report)
    with measuring(overlap=4):
        jitted(list(range(12)))


def test_a_print_statement_of_its_own_stays_in_order():
    def prints_then_works(xs):
        out = []
        for x in xs:
            print("start", x)
            out.append(io(x))
        return out

    jitted, _ = compare(prints_then_works, list(range(8)))
    (report,) = xcs.explain(jitted)
    assert "line" in " ".join(report.in_order)   # the print is an in-order statement; io(x) is hoisted
