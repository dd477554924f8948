"""`xcs.jit` and `xcs.explain`: same function to the caller, parallel where proven, never
broken by XCS itself."""
from __future__ import annotations

import contextlib
import contextvars
import io as text_io
import functools
import inspect
import os
import re
import subprocess
import sys
import threading

import pytest

import xcs
from tests.corpus.probe import _state, io, measuring

REQUEST_ID = contextvars.ContextVar("request_id", default=None)


def fan_out(urls, *, tag="t"):
    """Fetch every url."""
    pages = []
    for url in urls:
        pages.append((tag, io(url)))
    return pages


def test_same_name_doc_signature_and_result():
    jitted = xcs.jit(fan_out)
    assert jitted.__name__ == "fan_out" and jitted.__doc__ == fan_out.__doc__
    assert inspect.signature(jitted) == inspect.signature(fan_out)
    assert jitted([1, 2, 3], tag="x") == fan_out([1, 2, 3], tag="x")
    assert jitted.__wrapped__ is fan_out


def test_decorator_with_options_bounds_concurrency():
    @xcs.jit(max_workers=2)
    def loop(xs):
        out = []
        for x in xs:
            out.append(io(x, 0.01))
        return out

    with measuring() as state:
        assert loop(list(range(8))) == list(range(8))
    assert state["peak"] == 2


def test_contextvars_reach_the_workers():
    def work(x):
        return REQUEST_ID.get(), io(x)

    @xcs.jit(parallel=True)
    def loop(xs):
        out = []
        for x in xs:
            out.append(work(x))
        return out

    REQUEST_ID.set("req-42")
    with measuring(overlap=4):
        assert loop([1, 2, 3, 4]) == [("req-42", x) for x in (1, 2, 3, 4)]


class Client:
    def __init__(self):
        self.log = []

    @xcs.jit
    def fetch_all(self, xs):
        for x in xs:
            self.log.append(io(x))
        return self.log

    @staticmethod
    @xcs.jit
    def static(xs):
        return [io(x) for x in xs]

    @xcs.jit
    @classmethod
    def klass(cls, xs):
        return [io(x) for x in xs]


def test_methods_static_and_class_methods():
    with measuring(overlap=3):
        assert Client().fetch_all([1, 2, 3]) == [1, 2, 3]
    with measuring(overlap=3):
        assert Client.static([1, 2, 3]) == [1, 2, 3]
    with measuring(overlap=3):
        assert Client.klass([1, 2, 3]) == [1, 2, 3]


def test_closures_lambdas_and_partials():
    offset = 10
    add = xcs.jit(lambda xs: [io(x) + offset for x in xs])
    with measuring(overlap=3):
        assert add([1, 2, 3]) == [11, 12, 13]
    tagged = xcs.jit(functools.partial(fan_out, tag="p"))
    assert tagged([1, 2]) == [("p", 1), ("p", 2)]


def test_recursion_through_a_jitted_function():
    @xcs.jit
    def tree(depth):
        if depth == 0:
            return [io(0)]
        out = []
        for child in range(2):
            out.append(tree(depth - 1))
        return out

    plain = tree.__wrapped__
    assert tree(3) == plain(3)


def test_parallel_loop_inside_a_worker_does_not_deadlock():
    @xcs.jit(parallel=True, max_workers=2)
    def inner(x):
        return [io(x * 10 + k) for k in range(3)]

    @xcs.jit(parallel=True, max_workers=2)
    def outer(xs):
        out = []
        for x in xs:
            out.append(inner(x))
        return out

    assert outer([1, 2, 3, 4]) == [[10, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42]]


def test_internal_failure_falls_back_to_original(monkeypatch):
    from xcs.transform import variant

    def broken(*args, **kwargs):
        raise RuntimeError("simulated XCS bug")

    monkeypatch.setattr(variant, "build_variant", broken)

    def loop(xs):
        out = []
        for x in xs:
            out.append(io(x) + 1)
        return out

    jitted = xcs.jit(loop)
    assert jitted([1, 2]) == [2, 3]
    assert jitted.__code__ is loop.__code__
    assert "could not transform" in " ".join(map(str, xcs.explain(jitted)))


def test_explain_reports_lines_and_reasons():
    def loop(xs):
        total = 0
        for x in xs:
            total = io(total * 2 + x)
        return total

    (report,) = xcs.explain(loop)
    assert report.line == loop.__code__.co_firstlineno + 2
    assert report.current_status() == "sequential"
    assert "`total`" in str(report) and f"line {report.line + 1}" in str(report)


def test_explain_rejects_non_functions():
    with pytest.raises(TypeError):
        xcs.explain(len)


def test_jit_rejects_bad_options():
    with pytest.raises(ValueError):
        xcs.jit(parallel="sometimes")
    with pytest.raises(ValueError):
        xcs.jit(max_workers=0)


def test_xcs_disable_turns_jit_off():
    code = ("import xcs\n"
            "def f(xs): return [x for x in xs]\n"
            "print(xcs.jit(f) is f)\n")
    env = dict(os.environ, XCS_DISABLE="1", PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_demo_command_runs():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-m", "xcs", "demo", "--models", "4", "--latency", "0.05"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.search(r"same results\s*: True", result.stdout), result.stdout


class PureClient:
    def get(self, x):
        return io(x)


class CountingClient(PureClient):
    """Same interface; its `get` changes shared state, so its loops must stay in order."""

    def __init__(self):
        self.seen = []

    def get(self, x):
        self.seen.append(x)
        return io(x)


def test_a_later_call_with_objects_the_analysis_did_not_see_runs_in_order():
    @xcs.jit
    def fetch_all(client, xs):
        out = []
        for x in xs:
            out.append(client.get(x))
        return out

    xs = list(range(6))
    with measuring(overlap=6):
        assert fetch_all(PureClient(), xs) == xs
    counting = CountingClient()
    with measuring() as state:
        assert fetch_all(counting, xs) == xs
    assert state["peak"] == 1 and counting.seen == xs
    with measuring(overlap=6):
        assert fetch_all(PureClient(), xs) == xs


def fetch_for_guard(x):
    return io(x)


def loop_over_a_global(xs):
    out = []
    for x in xs:
        out.append(fetch_for_guard(x))
    return out


def test_a_rebound_global_makes_the_loop_run_in_order(monkeypatch):
    fast = xcs.jit(loop_over_a_global)
    xs = list(range(5))
    with measuring(overlap=5):
        assert fast(xs) == xs
    calls = []

    def recording(x):
        calls.append(x)
        return io(x)

    monkeypatch.setitem(globals(), "fetch_for_guard", recording)
    with measuring() as state:
        assert fast(xs) == xs
    assert state["peak"] == 1 and calls == xs
    monkeypatch.undo()
    with measuring(overlap=5):
        assert fast(xs) == xs


def test_each_closure_is_checked_against_its_own_cells():
    def make(get):
        @xcs.jit
        def fetch_all(xs):
            out = []
            for x in xs:
                out.append(get(x))
            return out
        return fetch_all

    xs = list(range(5))
    with measuring(overlap=5):
        assert make(io)(xs) == xs
    seen = []

    def recording(x):
        seen.append(x)
        return io(x)

    with measuring() as state:
        assert make(recording)(xs) == xs
    assert state["peak"] == 1 and seen == xs


class QuietModel:
    def predict(self, x):
        return io(x)


LOUD_SAW_ACTIVE = []


def probe_state():
    return _state


class LoudModel(QuietModel):
    """Prints from inside its method, where the analysis of the loop cannot see; records how
    many io() calls were running when it started."""

    def predict(self, x):
        LOUD_SAW_ACTIVE.append(probe_state()["active"])
        print("predicting", x)
        return io(x)


def ask(models, x):
    out = []
    for model in models:
        out.append(model.predict(x))
    return out


def test_items_whose_methods_print_run_in_order_from_the_first_of_them():
    fast = xcs.jit(ask, parallel=True)
    with measuring(overlap=3):
        assert fast([QuietModel(), QuietModel(), QuietModel()], 7) == [7, 7, 7]
    models = [QuietModel(), QuietModel(), QuietModel(), LoudModel(), QuietModel(), LoudModel()]
    plain_out, fast_out = text_io.StringIO(), text_io.StringIO()
    with contextlib.redirect_stdout(plain_out):
        expected = ask(models, 7)
    LOUD_SAW_ACTIVE.clear()
    with contextlib.redirect_stdout(fast_out), measuring():
        assert fast(models, 7) == expected
    assert fast_out.getvalue() == plain_out.getvalue()
    assert LOUD_SAW_ACTIVE == [0, 0], "a printing model ran while other iterations were in flight"


def test_a_mocked_call_keeps_its_call_order():
    from unittest import mock

    @xcs.jit
    def notify_all(users):
        sent = []
        for user in users:
            sent.append(send(user))
        return sent

    users = list(range(6))
    with mock.patch(f"{__name__}.send", side_effect=lambda u: io(u)) as fake, measuring() as state:
        assert notify_all(users) == users
    assert fake.call_args_list == [mock.call(u) for u in users]
    assert state["peak"] == 1


def send(user):
    return io(user)
