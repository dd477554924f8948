"""The `sys.monitoring` mechanism of auto-mode (3.12+): what it does beyond test_auto's shared
behaviour — which calls are parallel from the first call and which from the second, that
every swapped function gets its `__code__` back, that answered events leave no
instrumentation behind, and that it shares `sys.monitoring` with other tools."""
from __future__ import annotations

import dis
import os
import sys
import textwrap

import pytest

import xcs
from tests.corpus.probe import io, measuring
from xcs.api import auto

if sys.version_info < (3, 12):
    pytest.skip("sys.monitoring is new in 3.12", allow_module_level=True)
if auto.default_mechanism() != "monitoring":
    pytest.skip("the monitoring mechanism is not usable here", allow_module_level=True)

from tests.hook import sample_module as sample  # noqa: E402

HERE = os.path.dirname(__file__)
XS = list(range(5))
monitoring = sys.monitoring


@pytest.fixture(autouse=True)
def auto_mode():
    xcs.enable(include=[HERE], mechanism="monitoring")
    yield
    xcs.disable()
    assert auto.swapped_functions() == []


def fresh_module(source: str) -> dict:
    """Functions defined now (unseen by XCS), in a file of this test folder."""
    namespace: dict = {"io": io}
    exec(compile(textwrap.dedent(source), os.path.join(HERE, "monitoring_fresh.py"), "exec"), namespace)
    return namespace


FAN = """
    def fan(xs):
        out = []
        for x in xs:
            out.append(io(x))
        return out

    def make(scale):
        def scaled(xs):
            out = []
            for x in xs:
                out.append(io(x) * scale)
            return out
        return scaled

    def pure(xs):
        total = []
        for x in xs:
            total.append(x + 1)
        return total
"""


def test_a_call_from_user_code_is_parallel_from_the_first_call_and_disable_restores():
    ns = fresh_module(FAN)
    original = ns["fan"].__code__
    with measuring(overlap=len(XS)):
        assert ns["fan"](XS) == XS
    assert ns["fan"].__code__ is not original and ns["fan"] in auto.swapped_functions()
    xcs.disable()
    assert ns["fan"].__code__ is original
    with measuring() as state:
        assert ns["fan"](XS) == XS
    assert state["peak"] == 1


def test_every_new_closure_is_swapped_and_every_one_restored():
    ns = fresh_module(FAN)
    closures = [ns["make"](k) for k in (1, 2, 3)]
    original = closures[0].__code__
    for k, closure in zip((1, 2, 3), closures):
        with measuring(overlap=len(XS)):      # the call site stays on: a first call each
            assert closure(XS) == [k * x for x in XS]
    assert all(c.__code__ is not original for c in closures)
    assert set(closures) <= set(auto.swapped_functions())
    xcs.disable()
    assert all(c.__code__ is original for c in closures)


def test_a_first_call_from_c_runs_as_written_and_the_second_in_parallel():
    ns = fresh_module(FAN)
    fan = ns["fan"]
    with measuring() as state:
        assert list(map(fan, [XS])) == [XS]   # called from C: no CALL event, PY_START swaps
    assert state["peak"] == 1
    with measuring(overlap=len(XS)):
        assert list(map(fan, [XS])) == [XS]


def test_star_args_calls_are_parallel_at_the_latest_from_the_second_call():
    ns = fresh_module(FAN)
    fan, args = ns["fan"], (XS,)
    with measuring() as first:
        assert fan(*args) == XS
    # CPython 3.12.1 does not fire CALL for f(*args) (CALL_FUNCTION_EX): PY_START swaps after
    # the first call started; later versions fire it and the first call is parallel too.
    assert first["peak"] in (1, len(XS))
    with measuring(overlap=len(XS)):
        assert fan(*args) == XS


def test_evidence_giving_up_restores_the_original_code():
    ns = fresh_module(FAN)
    pure = ns["pure"]
    original = pure.__code__
    for _ in range(3):
        assert pure(XS) == [x + 1 for x in XS]
    assert pure.__code__ is original            # no blocking call: not worth it, given back
    assert pure not in auto.swapped_functions()


def test_answered_events_leave_no_instrumentation_behind():
    ns = fresh_module("""
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
    """)
    for _ in range(3):
        assert ns["fib"](15) == 610
    names = [i.opname for i in dis.get_instructions(ns["fib"], adaptive=True)]
    assert not [n for n in names if n.startswith("INSTRUMENTED")], names
    assert "CALL_PY_EXACT_ARGS" in names          # specialized as in plain CPython


def test_a_taken_tool_id_makes_xcs_use_a_free_one_and_both_tools_see_events():
    xcs.disable()
    seen = []
    monitoring.use_tool_id(monitoring.OPTIMIZER_ID, "another optimizer")
    try:
        monitoring.register_callback(monitoring.OPTIMIZER_ID, monitoring.events.PY_START,
                                     lambda code, offset: seen.append(code.co_name))
        monitoring.set_events(monitoring.OPTIMIZER_ID, monitoring.events.PY_START)
        xcs.enable(include=[HERE], mechanism="monitoring")
        assert monitoring.get_tool(4) == "xcs"
        ns = fresh_module(FAN)
        with measuring(overlap=len(XS)):
            assert ns["fan"](XS) == XS
        xcs.disable()
        assert monitoring.get_tool(4) is None
        assert "fan" in seen
    finally:
        monitoring.set_events(monitoring.OPTIMIZER_ID, 0)
        monitoring.register_callback(monitoring.OPTIMIZER_ID, monitoring.events.PY_START, None)
        monitoring.free_tool_id(monitoring.OPTIMIZER_ID)


def test_every_tool_id_taken_says_what_to_do():
    xcs.disable()
    taken = [i for i in (3, 4, 5) if monitoring.get_tool(i) is None]
    for i in taken:
        monitoring.use_tool_id(i, "busy")
    try:
        with pytest.raises(RuntimeError, match="mechanism='frame'"):
            xcs.enable(mechanism="monitoring")
        xcs.enable(include=[HERE], mechanism="frame")
        ns = fresh_module(FAN)
        with measuring(overlap=len(XS)):
            assert ns["fan"](XS) == XS
    finally:
        xcs.disable()
        for i in taken:
            monitoring.free_tool_id(i)


def test_another_tools_restart_events_costs_one_more_answer_per_code_object():
    ns = fresh_module(FAN + """
    def caller(xs):
        return fan(xs)
    """)
    for _ in range(3):
        assert ns["caller"](XS) == XS
    stats = auto._monitoring.stats
    before = dict(stats)
    monitoring.restart_events()                  # what coverage.py does when it starts
    rounds = []
    for _ in range(3):
        with measuring(overlap=len(XS)):
            assert ns["caller"](XS) == XS
        rounds.append((stats["starts"], stats["calls"]))
    # Re-armed events fire once per code object / call site, are answered from the cache
    # (nothing is decided again) and disabled again: a later round costs one callback, at the
    # one call site kept armed because its callee has a variant (new closures may come).
    assert stats["decided"] == before["decided"]
    assert rounds[0][0] > before["starts"]
    assert rounds[1][0] == rounds[2][0] and rounds[2][1] - rounds[1][1] == 1
    assert ns["fan"] in auto.swapped_functions()


def test_the_variant_keeps_the_signature_and_the_source_lines():
    import inspect

    ns = fresh_module(FAN)
    before = inspect.signature(ns["fan"]), ns["fan"].__code__.co_firstlineno, ns["fan"].__code__.co_filename
    ns["fan"](XS)
    after = inspect.signature(ns["fan"]), ns["fan"].__code__.co_firstlineno, ns["fan"].__code__.co_filename
    assert before == after


def test_functions_imported_before_enable_keep_their_code_objects_identity_after_disable():
    originals = {name: getattr(sample, name).__code__ for name in ("fan_out", "keywords", "nested_fan")}
    sample.fan_out(XS)
    sample.keywords(1, c=3)
    sample.nested_fan(3, [1])
    xcs.disable()
    assert {name: getattr(sample, name).__code__ for name in originals} == originals


def test_equal_code_in_two_files_is_decided_and_restored_per_code_object():
    # Code objects with the same text compare equal (their file is not compared): XCS keys
    # its decisions by identity, so each function gets its own variant and original back.
    first, second = fresh_module(FAN), fresh_module(FAN)
    originals = first["fan"].__code__, second["fan"].__code__
    assert originals[0] == originals[1] and originals[0] is not originals[1]
    for ns in (first, second):
        with measuring(overlap=len(XS)):
            assert ns["fan"](XS) == XS
    assert {first["fan"], second["fan"]} <= set(auto.swapped_functions())
    xcs.disable()
    assert first["fan"].__code__ is originals[0] and second["fan"].__code__ is originals[1]


def test_a_class_whose_init_has_a_loop_is_parallel_from_the_first_construction():
    ns = fresh_module("""
        class Batch:
            def __init__(self, xs):
                self.out = []
                for x in xs:
                    self.out.append(io(x))

        def build(xs):
            return Batch(xs).out
    """)
    with measuring(overlap=len(XS)):
        assert ns["build"](XS) == XS
    xcs.disable()
    assert ns["Batch"].__init__ not in auto.swapped_functions()
    with measuring() as state:
        assert ns["build"](XS) == XS
    assert state["peak"] == 1
