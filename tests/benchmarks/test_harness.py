"""Smoke test of the benchmark harness: `python -m benchmarks` on tiny sizes, end to end.

Runs every workload with every contender once at N = 2 (10 ms latency), in a child process
as a user would, into a temporary directory; then checks what the run wrote: every
workload measured or skipped with its reason, every contender returning the plain result,
XCS parallel exactly where the workload's loop shape allows it, a Markdown report, the
JSON, and the plot when matplotlib is installed. Timings are not checked (see `benchmarks/`).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PARALLEL = {"sleep", "http-urllib", "http-urllib-append-in-with", "http-requests", "http-session", "llm-openai",
            "subprocess"}
SEQUENTIAL = {"small-files", "cpu-bound", "numeric"}   # page-cache reads: too short to pay a thread hop


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "-m", "benchmarks", "--sizes", "2", "--repeat", "1", "--latency", "0.01",
               "--auto-programs", "genexpr", "--out-dir", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_every_workload_is_measured_or_says_why_not(run):
    out, done = run
    result = json.loads((out / "results.json").read_text())["results"][0]
    names = {w["name"] for w in result["workloads"]}
    assert names == PARALLEL | SEQUENTIAL
    for workload in result["workloads"]:
        if workload.get("skipped"):
            assert "not installed" in workload["skipped"] and workload["name"] == "numeric"
            assert importlib.util.find_spec("numba") is None
            continue
        assert [row["n"] for row in workload["rows"]] == [2]
        runs = workload["rows"][0]["runs"]
        assert {"plain", "xcs.jit", "xcs.enable", "ThreadPoolExecutor", "asyncio.gather"} <= set(runs)
        assert all(len(times) == 1 and times[0] > 0 for times in runs.values())
        assert f"[{result['python']}] {workload['name']} N=2:" in done.stderr


def test_every_contender_returns_the_plain_result(run):
    out, _ = run
    for workload in json.loads((out / "results.json").read_text())["results"][0]["workloads"]:
        for row in workload["rows"]:
            assert all(row["same"].values()), (workload["name"], row["same"])


def test_xcs_is_parallel_exactly_where_the_loop_shape_allows(run):
    out, _ = run
    for workload in json.loads((out / "results.json").read_text())["results"][0]["workloads"]:
        if workload.get("skipped"):
            continue
        said = " ".join(workload["explain"])
        expected = ": parallel" if workload["name"] in PARALLEL else ": sequential"
        assert expected in said, (workload["name"], said)


def test_the_report_json_and_plot_are_written(run):
    out, _ = run
    report = (out / "RESULTS.md").read_text()
    assert "<!-- BEGIN harness -->" in report and "### Summary" in report
    assert "XCS runtime overhead per iteration" in report
    assert "| genexpr |" in report and "Auto-mode on call-heavy code" in report
    overhead = json.loads((out / "results.json").read_text())["results"][0]["overhead"]
    assert overhead["iterations"] == 10_000 and ": parallel" in " ".join(overhead["parallel"])
    if importlib.util.find_spec("matplotlib"):
        assert (out / "speedup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "No plot: matplotlib is not installed" in report
