"""The PNG plot: speedup over plain against N, one panel per workload, one line per contender."""
from __future__ import annotations

import math
import statistics


def plot(result: dict, path) -> str | None:
    """Draw `result` (one interpreter's figures) to `path`; returns None, or why no plot was drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]')"
    workloads = [w for w in result["workloads"] if w["rows"]]
    columns = 3
    rows = math.ceil(len(workloads) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for axis, workload in zip(axes.flat, workloads):
        sizes = [row["n"] for row in workload["rows"]]
        for name in workload["rows"][0]["runs"]:
            if name == "plain":
                continue
            speedups = [statistics.median(row["runs"]["plain"]) / statistics.median(row["runs"][name])
                        for row in workload["rows"]]
            axis.plot(sizes, speedups, marker="o", label=name, linewidth=2.2 if name.startswith("xcs") else 1.2)
        if workload["kind"] == "io":
            axis.plot(sizes, [min(n, result["workers"]) for n in sizes], "k:", label="ideal min(N, workers)")
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log", base=2)
        axis.set_title(workload["name"])
        axis.set_xlabel("N")
        axis.set_ylabel("speedup over plain")
    for axis in list(axes.flat)[len(workloads):]:
        axis.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4)
    figure.suptitle(f"XCS vs alternatives, CPython {result['python']}, latency {result['latency'] * 1000:.0f} ms")
    figure.tight_layout(rect=(0, 0.06, 1, 0.96))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return None
