"""Tools that watch the program keep working under auto-mode: coverage.py (its C tracer, and
on 3.12+ its sys.monitoring core) sees every line of a parallelized function, and a
sys.monitoring tool sees the program's functions start, not XCS deciding about them — with
each auto-mode mechanism ("frame": the PEP 523 hook; "monitoring": sys.monitoring, 3.12+)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import xcs

from xcs import native

if native.hook_or_none() is None:
    pytest.skip(f"the xcs._hook C extension is not usable: {native._load()[1]}", allow_module_level=True)
MECHANISMS = ["frame"] + (["monitoring"] if sys.version_info >= (3, 12) else [])

HERE = os.path.dirname(__file__)
SAMPLE = os.path.join(HERE, "sample_module.py")

COVERAGE_SCRIPT = textwrap.dedent("""
    import json, sys
    import coverage
    cov = coverage.Coverage(data_file=None, include=[sys.argv[1]])
    cov.start()
    import xcs
    xcs.enable(include=[sys.argv[2]], mechanism=sys.argv[3])
    from tests.hook import sample_module
    results = [sample_module.fan_out(list(range(6))) for _ in range(2)]
    xcs.disable()
    cov.stop()
    _, statements, _, missing, _ = cov.analysis2(sys.argv[1])
    print(json.dumps({"results": results, "missing": missing}))
""")


def _coverage_of_sample(core: str | None, mechanism: str) -> dict:
    import json

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("COVERAGE_CORE", None)
    if core:
        env["COVERAGE_CORE"] = core
    out = subprocess.run([sys.executable, "-c", COVERAGE_SCRIPT, SAMPLE, HERE, mechanism], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _lines_of(function_name: str) -> set:
    import inspect

    from tests.hook import sample_module

    source, first = inspect.getsourcelines(getattr(sample_module, function_name))
    return set(range(first, first + len(source)))


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("core", ["ctrace"] + (["sysmon"] if sys.version_info >= (3, 12) else []))
def test_coverage_sees_every_line_of_a_parallelized_function(core, mechanism):
    pytest.importorskip("coverage")
    report = _coverage_of_sample(core, mechanism)
    assert report["results"] == [list(range(6))] * 2
    assert not _lines_of("fan_out") & set(report["missing"])


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12")
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_sys_monitoring_tool_sees_the_program_start_and_not_xcs(mechanism):
    from tests.hook import sample_module

    monitoring = sys.monitoring
    tool = monitoring.PROFILER_ID
    started = []
    monitoring.use_tool_id(tool, "xcs-test")
    try:
        monitoring.register_callback(tool, monitoring.events.PY_START,
                                     lambda code, offset: started.append(code.co_filename))
        xcs.enable(include=[HERE], mechanism=mechanism)
        monitoring.set_events(tool, monitoring.events.PY_START)
        try:
            assert sample_module.make_closure(2)([1, 2]) == [2, 4]
        finally:
            monitoring.set_events(tool, 0)
            xcs.disable()
    finally:
        monitoring.register_callback(tool, monitoring.events.PY_START, None)
        monitoring.free_tool_id(tool)
    assert SAMPLE in started
    # The decision (xcs/auto.py and what it calls) is hidden; XCS's runtime, which runs the
    # loop for the program, is seen like any library the program calls.
    assert os.path.join(os.path.dirname(xcs.__file__), "api", "auto.py") not in started
