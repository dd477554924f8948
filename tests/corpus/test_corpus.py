"""Every corpus shape: same results as plain CPython, and the decision the table expects.

For each row the function runs twice — plain, then through `xcs.jit` — and everything a
caller can observe is compared: the return value (or exception type and message), what
was printed, and how the arguments were mutated. Parallel rows must reach a rendezvous (`measuring(meet=n)`)
that waits until their blocking calls overlap; sequential rows must never overlap and
`xcs.explain` must give the expected reason — a refusal kind (`xcs.analysis.refusal`) or a
decision taken at run time (`RUN_KINDS`), checked on the reports' data, not on their words. Rows whose loop fails part-way are checked for
equality and for being parallel, without a barrier: how many iterations start before the
failure is seen is not fixed.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import sys
import io as text_io

import pytest

import xcs
from tests.corpus.probe import measuring
from tests.corpus.shapes import CORPUS, RUN_KINDS
from xcs.api.words import TEMPLATES


def run(fn, args, overlap=None):
    args = copy.deepcopy(args)
    out = text_io.StringIO()
    # `meet`: io() calls wait until `overlap` of them have run at once (once, at most 5 s);
    # a barrier instead could be left short of parties at the end of a loaded run (the last
    # iteration's calls alone, one after the other) and break a loop that did overlap.
    with measuring(meet=overlap, timeout=5) as state, contextlib.redirect_stdout(out):
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
        assert peak >= parties, f"no overlap: peak concurrency {peak}, expected {parties}"
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
    assert any(stays_sequential_for(shape, report) for report in reports), \
        f"expected {shape.kinds} (subject {shape.subject!r}):\n{text}"


def stays_sequential_for(shape, report) -> bool:
    """True when `report` says the loop stays sequential for one of the row's kinds."""
    subject = shape.subject
    for kind in shape.kinds:
        decision = getattr(report.runner, "decision", None)
        if kind == "probe:cpu-bound" and decision is not None and decision.source == "probe" and \
                not decision.parallel and decision.grounds == "cpu-bound":
            return True
        if kind == "policy:parallel-false" and shape.policy is False and report.status == "sequential" and \
                not report.refusals:
            return True
        inline = report.inline_reason()
        if kind == "run:in-order" and inline is not None and (subject is None or subject in inline):
            return True
        if any(r.kind == kind and (subject is None or subject in _about(r)) for r in report.refusals):
            return True
    return False


def _about(refusal) -> str:
    """What a refusal names: its variable or callee, and what was found inside the callee."""
    return " ".join(map(str, (refusal.name, refusal.callee, refusal.detail)))


def test_every_sequential_row_names_a_known_kind():
    for shape in CORPUS:
        if shape.expect == "sequential":
            assert shape.kind is not None and all(k in TEMPLATES or k in RUN_KINDS for k in shape.kinds), shape.name
        else:
            assert shape.kind is None and shape.subject is None, shape.name


def test_a_row_is_not_satisfied_by_another_kind():
    from tests.corpus.shapes import sequential_basics

    carried = next(s for s in CORPUS if s.fn is sequential_basics.carried_chain)
    jitted = xcs.jit(carried.fn)
    run(jitted, carried.args)
    [report] = xcs.explain(jitted)
    assert stays_sequential_for(carried, report)
    wrong = [dataclasses.replace(carried, kind="break"), dataclasses.replace(carried, subject="nosuch")]
    assert not any(stays_sequential_for(w, report) for w in wrong)
