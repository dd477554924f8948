"""Each sentence of `run_inline`'s docstring, checked: the sequential twin of `ordered_map`."""
from __future__ import annotations

import contextvars
import threading
import traceback

import pytest

from xcs.runtime import run_inline

from .helpers import CountingSource


class Boom(Exception):
    pass


def test_non_iterable_raises_type_error_at_the_call():
    with pytest.raises(TypeError):
        run_inline(lambda x: (None, x), 42)


def test_iter_is_called_at_once_and_items_are_pulled_one_per_next():
    yielded = [0]
    ahead = []
    source = CountingSource(range(10), on_pull=lambda n: ahead.append(n - yielded[0]))
    it = run_inline(lambda x, k: (None, x * k), source, (2,))
    assert source.iter_calls == 1 and source.pulled == 0
    results = []
    for result in it:
        results.append(result)
        yielded[0] += 1
    assert results == [(None, x * 2) for x in range(10)]
    assert ahead == [0] * 10      # item n is pulled only after n results were yielded


var = contextvars.ContextVar("inline_var", default="unset")


def test_body_runs_on_the_calling_thread_in_the_callers_own_context():
    def body(x):
        var.set(x)
        return (None, threading.get_ident())

    token = var.set("caller")
    try:
        results = list(run_inline(body, range(3)))
        assert var.get() == 2     # as the loop itself would have left it
    finally:
        var.reset(token)
    assert results == [(None, threading.get_ident())] * 3


@pytest.mark.parametrize("error", [Boom("x"), SystemExit(1), KeyboardInterrupt(), GeneratorExit()])
def test_body_failure_yields_the_exception_then_exhaustion(error):
    calls = []

    def body(x):
        calls.append(x)
        if x == 3:
            raise error
        return (None, x)

    it = run_inline(body, range(10))
    results = list(it)
    assert results == [(None, 0), (None, 1), (None, 2), (error,)]
    assert calls == [0, 1, 2, 3]
    with pytest.raises(StopIteration):
        next(it)


def _failing_body(x):
    raise Boom(x)


def _failing_source():
    yield 1
    raise Boom("source")


def test_traceback_starts_at_the_body_frame():
    (error,) = next(run_inline(_failing_body, [1]))
    assert [f.name for f in traceback.extract_tb(error.__traceback__)] == ["_failing_body"]


def test_source_failure_yields_the_exception_with_its_traceback_then_exhaustion():
    it = run_inline(lambda x: (None, x), _failing_source())
    assert next(it) == (None, 1)
    (error,) = next(it)
    assert error.args == ("source",)
    assert [f.name for f in traceback.extract_tb(error.__traceback__)] == ["_failing_source"]
    with pytest.raises(StopIteration):
        next(it)


def test_keyboard_interrupt_from_the_source_propagates():
    it = run_inline(lambda x: (None, x), CountingSource(range(5), fail_at=1, error=KeyboardInterrupt()))
    assert next(it) == (None, 0)
    with pytest.raises(KeyboardInterrupt):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
