"""Every corpus shape: same results as plain CPython, and the decision the table expects.

For each row the function runs twice — plain, then through `xcs.jit` — and everything a
caller can observe is compared: the return value (or exception type and message), what
was printed, and how the arguments were mutated. Parallel rows must get through a barrier
that only opens when their blocking calls overlap; sequential rows must never overlap and
`xcs.explain` must give the expected reason. Rows whose loop fails part-way are checked for
equality and for being parallel, without a barrier: how many iterations start before the
failure is seen is not fixed.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import sys
import io as text_io

import pytest

import xcs
from tests.corpus.probe import measuring
from tests.corpus.shapes import CORPUS


def run(fn, args, overlap=None):
    args = copy.deepcopy(args)
    out = text_io.StringIO()
    with measuring(overlap, timeout=5) as state, contextlib.redirect_stdout(out):
        try:
            result = fn(*args)
            if inspect.isgenerator(result):
                result = list(result)
            outcome = ("returned", result)
        except Exception as error:  # noqa: BLE001 - the outcome is what we compare
            outcome = ("raised", type(error).__name__, str(error))
        calls, peak = state["calls"], state["peak"]
    return {"outcome": outcome, "stdout": out.getvalue(), "args": args}, calls, peak


def test_corpus_size():
    parallel = [s for s in CORPUS if s.expect == "parallel"]
    sequential = [s for s in CORPUS if s.expect == "sequential"]
    assert len(parallel) >= 25 and len(sequential) >= 25 and len(CORPUS) >= 60


def rows(expect):
    """The corpus rows expecting `expect`; a row with a known gap must fail (strict xfail)."""
    return [pytest.param(s, id=s.name, marks=_gap(s.xfail) if s.xfail else ()) for s in CORPUS if s.expect == expect]


def _gap(reason: str):
    """A strict xfail; a reason starting "3.11:" applies to that version only."""
    version, _, _ = reason.partition(":")
    if version.startswith("3.") and version.count(".") == 1 and version[2:].isdigit():
        condition = "%d.%d" % sys.version_info[:2] == version
        return pytest.mark.xfail(condition, strict=True, reason=reason)
    return pytest.mark.xfail(strict=True, reason=reason)


@pytest.mark.parametrize("shape", rows("parallel"))
def test_parallel_shape(shape):
    expected, calls, _ = run(shape.fn, shape.args)
    jitted = xcs.jit(shape.fn, parallel=shape.policy)
    # Rows that fail part-way start a varying number of iterations: no exact barrier there.
    parties = calls if shape.overlap is True else int(shape.overlap)
    got, _, peak = run(jitted, shape.args, overlap=parties if parties > 1 else None)
    assert got == expected
    if parties > 1:
        assert peak >= 2, f"no overlap: peak concurrency {peak}"
    reports = xcs.explain(jitted)
    assert any(r.parallel for r in reports), "\n".join(map(str, reports))
    again, _, _ = run(jitted, shape.args)
    assert again == expected


@pytest.mark.parametrize("shape", rows("sequential"))
def test_sequential_shape(shape):
    expected, _, _ = run(shape.fn, shape.args)
    jitted = xcs.jit(shape.fn, parallel=shape.policy)
    got, _, peak = run(jitted, shape.args)
    assert got == expected
    assert peak <= 1, f"iterations overlapped (peak {peak}) in a loop that must stay sequential"
    reports = xcs.explain(jitted)
    text = "\n".join(map(str, reports))
    assert not any(r.parallel for r in reports), text
    assert shape.reason in text, text
