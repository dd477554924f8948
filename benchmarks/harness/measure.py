"""Time every contender on one workload, interleaved, and check they all return the plain result.

For each size N, each repetition runs the contenders one after another, so slow drifts of
the machine hit all of them alike; plain runs first in the first repetition (its result is
the one every other must equal) and the order rotates in later ones, so no contender always
runs right after another. The plain loop of a large N can take
minutes (512 × 0.1 s), so plain repeats only while its runs at this size total less than
`plain_budget` seconds (at least once); the report says how many runs each figure is from.
Every contender's result must equal the plain result of the same N; a difference is
recorded, not hidden.
"""
from __future__ import annotations

import sys
import time

from benchmarks.harness.contenders import contenders_for


def timed(runner, items) -> tuple[float, object]:
    """Seconds of one call of `runner` (its `around` context entered untimed), and its result."""
    with runner.around(items):
        start = time.perf_counter()
        result = runner.run(items)
        seconds = time.perf_counter() - start
    return seconds, result


def measure_workload(workload, options, sizes, repeat: int, workers: int, plain_budget: float,
                     progress=None) -> dict:
    """`{"name", "title", "kind", "not_run": {contender: reason}, "rows": [...]}` for `workload`;
    each row: `{"n", "runs": {contender: [seconds]}, "same": {contender: bool}}`; `"explain"`:
    what `xcs.explain` says about the loop. A workload
    whose optional packages are missing gets `"skipped"` (the reason) and no rows."""
    out = {"name": workload.name, "title": workload.title, "kind": workload.kind, "rows": [], "not_run": {}}
    missing = workload.missing()
    if missing:
        out["skipped"] = f"needs {', '.join(missing)}, not installed here"
        return out
    contenders = []
    for contender in contenders_for(workload):
        reason = contender.missing()
        if reason:
            out["not_run"][contender.name] = reason
        else:
            contenders.append(contender)
    with workload.environment(options) as env:
        runners = {c.name: c.start(workload, env, workers) for c in contenders}
        warm = workload.items(2, env)
        for runner in runners.values():  # first calls: compile, probe, import, numba's JIT
            timed(runner, warm)
        for n in sizes:
            items = workload.items(n, env)
            row = {"n": n, "runs": {name: [] for name in runners}, "same": {name: True for name in runners}}
            expected = None
            names = list(runners)
            for repetition in range(repeat):
                shift = repetition % len(names)
                for name in names[shift:] + names[:shift]:
                    runner = runners[name]
                    if name == "plain" and repetition and sum(row["runs"]["plain"]) >= plain_budget:
                        continue
                    seconds, result = timed(runner, items)
                    if name == "plain" and expected is None:
                        expected = result
                    row["runs"][name].append(seconds)
                    row["same"][name] = row["same"][name] and result == expected
            out["rows"].append(row)
            if progress:
                progress(workload, row)
        out["explain"] = runners["xcs.jit"].explain() if "xcs.jit" in runners else []
    return out


def progress_line(prefix: str):
    """A progress callback printing one line per (workload, N) to stderr."""
    def show(workload, row):
        plain = min(row["runs"]["plain"])
        parts = []
        for name, runs in row["runs"].items():
            best = min(runs)
            flag = "" if row["same"][name] else " DIFFERENT RESULT"
            parts.append(f"{name} {best * 1000:.0f} ms" + ("" if name == "plain" else f" ({plain / best:.1f}×)") + flag)
        print(f"{prefix} {workload.name} N={row['n']}: " + ", ".join(parts), file=sys.stderr, flush=True)

    return show
