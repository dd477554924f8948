"""Run test modules in this process and record one outcome per test id.

A `unittest.TestResult` that remembers, for every test (and every failing subtest), one of
`pass`, `fail`, `error`, `skip`, `xfail` (expected failure) or `xpass` (unexpected
success), with the first line of the failure for the report. Comparing two such maps is
how the runner tells whether XCS changed anything.
"""
from __future__ import annotations

import faulthandler
import io
import sys
import time
import traceback
import unittest


class OutcomeRecorder(unittest.TestResult):
    """Collects `{test id: (outcome, detail)}`; a subtest failure is recorded under the subtest's id."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, tuple[str, str]] = {}

    def _set(self, test, outcome: str, detail: str = "") -> None:
        self.outcomes[test.id()] = (outcome, detail)

    @staticmethod
    def _last_line(err) -> str:
        lines = "".join(traceback.format_exception_only(err[0], err[1])).strip().splitlines()
        return lines[-1][:300] if lines else ""

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcomes.setdefault(test.id(), ("pass", ""))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "fail", self._last_line(err))

    def addError(self, test, err):
        super().addError(test, err)
        self._set(test, "error", self._last_line(err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set(test, "skip", str(reason)[:300])

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set(test, "xfail", "")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, "xpass", "")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            outcome = "fail" if issubclass(err[0], test.failureException) else "error"
            self._set(subtest, outcome, self._last_line(err))


def prepare_test_support() -> None:
    """Configure `test.support` as `python -m test` does without `-u`: optional resources
    (network, cpu-hungry, gui, ...) are denied, so their tests skip the same way each run."""
    from test import support

    support.use_resources = []
    support.verbose = 0


def run_module(name: str, timeout: float, resources: tuple = ()) -> dict:
    """Import `test.<name>`, run all its tests here, and return its outcomes and duration.
    `resources`: the optional `test.support` resources this module may use (default none).

    An import or load failure becomes the single outcome `<module>: load-error`. If the
    module runs longer than `timeout` seconds, faulthandler dumps every thread and exits the
    process (a hang must not stall CI)."""
    from test import support

    support.use_resources = list(resources)
    start = time.perf_counter()
    recorder = OutcomeRecorder()
    faulthandler.dump_traceback_later(timeout, exit=True)
    saved_out, saved_err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()  # doctest modules and prints would bury the summary
    try:
        try:
            module = __import__(f"test.{name}", fromlist=["*"])
            suite = unittest.defaultTestLoader.loadTestsFromModule(module)
        except BaseException as exc:  # noqa: BLE001 - a SkipTest at import is data too
            kind = "skip" if isinstance(exc, unittest.SkipTest) else "load-error"
            recorder.outcomes[f"test.{name}"] = (kind, f"{type(exc).__name__}: {exc}"[:300])
        else:
            suite.run(recorder)
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        faulthandler.cancel_dump_traceback_later()
    return {"outcomes": recorder.outcomes, "seconds": time.perf_counter() - start}
