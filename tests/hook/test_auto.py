"""Auto-mode (`xcs.enable()`), with each mechanism this interpreter has ("frame", the PEP 523
hook; "monitoring", sys.monitoring on 3.12+): undecorated functions are parallelized from
their first call, behave exactly as without XCS, and run their original code after
`disable()`. With "frame" they keep their `__code__`; with "monitoring" their `__code__` is
the variant while auto-mode is on and the original again after."""
from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
import textwrap
import threading
import traceback

import pytest

import xcs
from tests.corpus.probe import measuring

from xcs import native
from xcs.api import auto

hook = native.hook_or_none()
if hook is None or not hasattr(hook, "install"):
    pytest.skip(f"the xcs._hook C extension is not usable: {native._load()[1]}", allow_module_level=True)

from tests.hook import sample_module as sample  # noqa: E402  (imported before enable())

XS = list(range(6))
MECHANISMS = ["frame"] + (["monitoring"] if sys.version_info >= (3, 12) else [])
HERE = os.path.dirname(__file__)
_current = {"mechanism": None}


def enable(include=(HERE,), **options):
    """xcs.enable with this test's mechanism."""
    xcs.enable(include=list(include), mechanism=_current["mechanism"], **options)


@pytest.fixture(autouse=True, params=MECHANISMS)
def mechanism(request):
    _current["mechanism"] = request.param
    enable()
    assert auto.mechanism() == request.param
    yield request.param
    xcs.disable()
    assert auto.mechanism() is None
    assert auto.swapped_functions() == []


def test_a_module_imported_before_enable_runs_in_parallel_from_the_first_call(mechanism):
    original = sample.fan_out.__code__
    for _ in range(2):
        with measuring(overlap=len(XS)):
            assert sample.fan_out(XS) == XS      # the variant runs in place of the frame
        if mechanism == "frame":
            assert sample.fan_out.__code__ is original
        else:
            assert sample.fan_out.__code__ is not original and sample.fan_out in auto.swapped_functions()
    xcs.disable()
    assert sample.fan_out.__code__ is original
    with measuring() as state:
        assert sample.fan_out(XS) == XS
    assert state["peak"] == 1
    enable()
    with measuring(overlap=len(XS)):             # the decision stayed cached in the code object
        assert sample.fan_out(XS) == XS


def test_every_argument_shape_reaches_the_variant():
    # positional, defaults, *args, keyword-only with and without default, **kwargs
    with measuring(overlap=7):
        assert sample.keywords(1, 2, 7, 8, c=3, e=5) == [1, 2, 3, 4, 7, 8, 5]
    with measuring(overlap=4):
        assert sample.keywords(1, c=3) == [1, 2, 3, 4]
    with measuring(overlap=len(XS)):
        assert sample.make_closure(3)(XS) == [3 * x for x in XS]
    with measuring(overlap=len(XS)):
        assert sample.Client(10).get_all(XS) == [10 + x for x in XS]


def test_a_module_imported_after_enable(tmp_path, monkeypatch):
    (tmp_path / "late_module.py").write_text(textwrap.dedent("""
        from tests.corpus.probe import io

        def fan_out(xs):
            out = []
            for x in xs:
                out.append(io(x) + 1)
            return out
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    enable(include=[str(tmp_path)])
    late = importlib.import_module("late_module")
    with measuring(overlap=len(XS)):
        assert late.fan_out(XS) == [x + 1 for x in XS]


def test_everything_behaves_as_without_xcs():
    def outcomes():
        results = []
        for call in (lambda: sample.keywords(1, 2, 7, 8, c=3, e=5),
                     lambda: sample.make_closure(3)(XS),
                     lambda: sample.Client(10).get_all(XS),
                     lambda: sample.lambda_fan(XS),
                     lambda: sample.partial_fan(),
                     lambda: sample.recursive(12),
                     lambda: list(sample.generator(XS)),
                     lambda: asyncio.run(sample.coroutine(XS)),
                     lambda: sample.failing(XS)):
            try:
                results.append(("ok", call()))
            except Exception as error:  # noqa: BLE001 - the outcome is what we compare
                results.append(("raised", type(error).__name__, str(error)))
        return results

    xcs.disable()
    expected = outcomes()
    enable()
    for _ in range(3):   # first calls decide; later calls run the variants
        assert outcomes() == expected


def test_a_failure_points_at_the_users_line():
    for _ in range(2):
        with pytest.raises(ValueError) as caught:
            sample.failing(XS)
    lines = [frame.line for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert 'raise ValueError(f"bad {x}")' in lines


def test_threads_started_before_and_after_enable_are_covered():
    xcs.disable()
    started = threading.Event()
    go = threading.Event()
    results = []

    def worker():
        started.set()
        go.wait(5)
        with measuring(overlap=len(XS)):
            results.append(sample.Client(0).get_all(XS))

    before = threading.Thread(target=worker)
    before.start()
    started.wait(5)
    enable()
    sample.Client(0).get_all(XS)                    # decide this code on the main thread
    go.set()
    before.join(10)
    assert results == [XS]


def test_tracing_and_profiling_keep_firing():
    events = []

    def tracer(frame, event, arg):
        if frame.f_code.co_name == "recursive":
            events.append(event)
        return None

    sys.settrace(tracer)
    try:
        sample.recursive(3)
    finally:
        sys.settrace(None)
    assert events.count("call") == 5
    calls = []
    sys.setprofile(lambda frame, event, arg: calls.append(frame.f_code.co_name) if event == "call" else None)
    try:
        sample.recursive(3)
    finally:
        sys.setprofile(None)
    assert calls.count("recursive") == 5


def test_replaced_frames_release_their_arguments_and_survive_deep_recursion():
    token = object()
    before = sys.getrefcount(token)
    for _ in range(50):
        sample.keywords(token, 2, c=3)
        sample.fan_out([token])
    assert sys.getrefcount(token) == before
    depth = 200   # 3.12 with any eval-frame hook allows ~740 Python frames
    assert sample.nested_fan(depth, [1, 2]) == [1, 2] * (depth + 1)
    xcs.disable()
    assert sample.nested_fan(depth, [1, 2]) == [1, 2] * (depth + 1)


def test_a_tracer_sees_the_program_not_xcs_deciding():
    seen = []

    def tracer(frame, event, arg):
        seen.append(frame.f_code.co_filename)
        return None

    fresh = {}
    exec(compile("def fresh(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n",
                 os.path.join(os.path.dirname(__file__), "fresh_code.py"), "exec"), fresh)
    sys.settrace(tracer)
    try:
        assert fresh["fresh"]([1, 2]) == [1, 2]   # unseen code: XCS decides during this call
    finally:
        sys.settrace(None)
    assert not [f for f in seen if f.startswith(os.path.dirname(xcs.__file__))]


def test_a_traced_thread_runs_loops_as_written_so_a_debugger_can_step_through_them(mechanism):
    lines = []

    def local(frame, event, arg):
        # Both mechanisms run the original code on a traced thread: every line in the
        # function's own frame ("monitoring" gives the call its original __code__ back).
        if event == "line":
            assert frame.f_code.co_qualname == "fan_out"
            lines.append(frame.f_lineno - frame.f_code.co_firstlineno)
        return local

    sys.settrace(lambda frame, event, arg: local if frame.f_code.co_name == "fan_out" else None)
    try:
        with measuring() as state:
            assert sample.fan_out(XS) == XS
    finally:
        sys.settrace(None)
    assert state["peak"] == 1
    assert lines.count(3) == len(XS)   # `out.append(io(x))`, once per item, on this thread
    with measuring(overlap=len(XS)):
        assert sample.fan_out(XS) == XS
    assert mechanism == "frame" or sample.fan_out in auto.swapped_functions()


def test_an_exception_raised_by_a_trace_function_still_propagates():
    def raising(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "fan_out":
            raise KeyError("from the tracer")
        return None

    sys.settrace(raising)
    try:
        with pytest.raises(KeyError, match="from the tracer"):
            sample.fan_out(XS)
    finally:
        sys.settrace(None)


def test_the_context_manager_restores_the_previous_state(mechanism):
    xcs.disable()
    assert not auto.is_enabled()
    with xcs.enabled(include=[HERE], mechanism=mechanism):
        assert auto.mechanism() == mechanism
    assert not auto.is_enabled()
    enable(include=())
    with xcs.enabled(mechanism="frame"):
        assert auto.mechanism() == "frame"
    assert auto.mechanism() == mechanism


def test_enable_twice_and_disable_twice_are_safe(mechanism):
    enable(include=())
    enable()
    assert hook.installed() == ("callback" if mechanism == "frame" else None)
    assert auto.mechanism() == mechanism
    xcs.disable()
    xcs.disable()
    assert hook.installed() is None
    assert auto.mechanism() is None
    with pytest.raises(ValueError, match="mechanism"):
        xcs.enable(mechanism="eval")


def test_enable_says_why_without_the_extension(monkeypatch):
    xcs.disable()
    monkeypatch.setitem(sys.modules, "xcs._hook", None)
    monkeypatch.delattr(xcs, "_hook")
    native.forget()
    try:
        with pytest.raises(RuntimeError, match="C extension"):
            enable()
        assert xcs.jit(sample.fan_out)(XS) == XS
    finally:
        native.forget()


def test_xcs_disable_makes_enable_a_no_op():
    code = "import xcs, xcs.api.auto as a; xcs.enable(); print(a.mechanism())"
    env = dict(os.environ, XCS_DISABLE="1", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_run_command_parallelizes_a_script_and_explains():
    script = os.path.join(os.path.dirname(__file__), "sample_script.py")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-m", "xcs", "run", "--explain", script, "5"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[:3] == ["[0, 2, 4, 6, 8]", "[0, 2, 4, 6, 8]", "11"]
    assert "fan_out" in out.stderr and ": parallel" in out.stderr
    assert "running_total" in out.stderr and "): sequential — line" in out.stderr and "carried" in out.stderr


def test_replacing_a_decision_releases_the_old_variant_exactly_once():
    def original():
        return 1

    def variant():
        return 2

    code, other = original.__code__.replace(co_name="fresh"), variant.__code__.replace(co_name="fresh_variant")
    before = sys.getrefcount(other)
    for _ in range(3):
        hook.set_decision(code, other)
        assert hook.decision(code) is other
        hook.set_decision(code, None)
        assert hook.decision(code) is False
    assert sys.getrefcount(other) == before
