"""The harness's report in Markdown: per Python version and workload, every contender's time
at each N, the speedups and ratios, and each target met or missed against the measured figure."""
from __future__ import annotations

import statistics

XCS = ("xcs.jit", "xcs.enable")
IO_SPEEDUP = 0.9      # speedup over plain ≥ 0.9 × min(N, workers)
POOL_RATIO = 1.05     # XCS / hand-written pool ≤ 1.05 (issue 13)
CPU_RATIO = 1.05      # CPU-bound: XCS / plain ≤ 1.05
OVERHEAD_US = 15.0    # runtime cost per iteration (issue 13)


def median(runs) -> float:
    return statistics.median(runs)


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.3g}"


def _cell(runs) -> str:
    if len(runs) == 1:
        return f"{_ms(runs[0])} (1 run)"
    return f"{_ms(median(runs))} ({_ms(min(runs))}–{_ms(max(runs))})"


def verdicts(kind: str, n: int, workers: int, runs: dict) -> list:
    """`[(contender, figure text, met)]` for each XCS contender on one row."""
    plain = median(runs["plain"])
    pool = median(runs["ThreadPoolExecutor"]) if runs.get("ThreadPoolExecutor") else None
    out = []
    for name in XCS:
        if not runs.get(name):
            continue
        mine = median(runs[name])
        if kind == "io":
            want = IO_SPEEDUP * min(n, workers)
            speedup = plain / mine
            out.append((name, f"{speedup:.2f}× (≥ {want:.1f})", speedup >= want))
            if pool:
                out.append((name, f"{mine / pool:.2f} of pool (≤ {POOL_RATIO})", mine / pool <= POOL_RATIO))
        else:
            out.append((name, f"{mine / plain:.2f}× plain (≤ {CPU_RATIO})", mine / plain <= CPU_RATIO))
    return out


def workload_table(python: str, workload: dict, workers: int) -> list:
    """Lines of one workload's table for one interpreter."""
    if workload.get("skipped"):
        return [f"CPython {python}: not run — {workload['skipped']}.", ""]
    names = list(workload["rows"][0]["runs"]) if workload["rows"] else []
    head = ["N", *[f"{n} ms" for n in names], "XCS vs targets", "same result as plain"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in workload["rows"]:
        runs, plain = row["runs"], median(row["runs"]["plain"])
        cells = [str(row["n"])]
        for name in names:
            speed = "" if name == "plain" else f" **{plain / median(runs[name]):.2f}×**"
            cells.append(_cell(runs[name]) + speed)
        marks = [f"{name.split('.')[1]}: {text} {'met' if ok else 'MISSED'}"
                 for name, text, ok in verdicts(workload["kind"], row["n"], workers, runs)]
        cells.append("; ".join(marks))
        different = [name for name, same in row["same"].items() if not same]
        cells.append("yes" if not different else "NO: " + ", ".join(different))
        lines.append("| " + " | ".join(cells) + " |")
    for name, reason in workload.get("not_run", {}).items():
        lines.append(f"\n{name} not run: {reason}.")
    said = "; ".join(workload.get("explain", [])) or "nothing"
    return [f"CPython {python}:", "", *lines, "", f"`xcs.explain`: {said}", ""]


def summary(results: list) -> list:
    """One line per (interpreter, workload): how many rows met every XCS target."""
    lines = ["| CPython | workload | rows meeting every XCS target | rows missing one (N: figure) |",
             "| --- | --- | --- | --- |"]
    for result in results:
        for workload in result["workloads"]:
            if workload.get("skipped"):
                lines.append(f"| {result['python']} | {workload['name']} | not run | {workload['skipped']} |")
                continue
            met, missed = 0, []
            for row in workload["rows"]:
                bad = [f"{name} {text}" for name, text, ok in
                       verdicts(workload["kind"], row["n"], result["workers"], row["runs"]) if not ok]
                if bad:
                    missed.append(f"N={row['n']}: " + ", ".join(bad))
                else:
                    met += 1
            lines.append(f"| {result['python']} | {workload['name']} | {met} of {len(workload['rows'])} | "
                         f"{'; '.join(missed) or '—'} |")
    return lines


def overhead_table(results: list) -> list:
    lines = ["| CPython | plain | `@xcs.jit` | hand-written pool | XCS µs per iteration (target ≤ 15) | pool µs per iteration |",
             "| --- | --- | --- | --- | --- | --- |"]
    for result in results:
        o = result.get("overhead")
        if not o:
            continue
        m = o["median"]
        lines.append(f"| {result['python']} | {m['plain'] * 1000:.1f} ms | {m['xcs.jit'] * 1000:.1f} ms | "
                     f"{m['ThreadPoolExecutor'] * 1000:.1f} ms | {o['xcs_us']:.1f} "
                     f"({'met' if o['xcs_us'] <= OVERHEAD_US else 'MISSED'}) | {o['pool_us']:.1f} |")
    return lines


def auto_mode_table(auto_overheads: list) -> list:
    lines = ["| CPython | program | plain | `xcs.enable()` / plain | bare hook / plain (floor) | XCS's share: enable / bare (target ≤ 1.05) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for result in auto_overheads:
        m = result["median"]
        for name in m["plain"]:
            plain, bare, enable = m["plain"][name], m["bare"][name], m["enable"][name]
            share = enable / bare
            lines.append(f"| {result['python']} | {name} | {plain * 1000:.1f} ms | {enable / plain:.2f}× | "
                         f"{bare / plain:.2f}× | {share:.2f}× ({'met' if share <= 1.05 else 'MISSED'}) |")
    return lines


def markdown(run: dict) -> str:
    """The RESULTS.md section for a whole harness run."""
    results = run["results"]
    first = results[0]
    lines = [
        f"## Harness{' (quick)' if run['quick'] else ''}: XCS against plain CPython and the hand-written alternatives",
        "",
        f"Command: `{run['command']}` — {run['elapsed'] / 60:.1f} min. Machine: {run['machine']}.",
        f"Latency of one blocking call: {first['latency'] * 1000:.0f} ms (the local HTTP server answers after it; the "
        f"seed and subprocess workloads sleep it). Every contender gets {first['workers']} workers / slots. "
        f"Cells: median ms over {first['repeat']} runs (min–max) and, in bold, the speedup over plain; plain repeats "
        f"only while its runs at that N total under {first['plain_budget']:.0f} s. The contenders run interleaved "
        "in one process per interpreter; `xcs.enable` times later calls (see `benchmarks/harness/contenders.py`).",
        "",
        "Targets: I/O workloads — XCS speedup ≥ 0.9 × min(N, workers) and XCS ≤ 1.05× the hand-written pool; "
        "CPU-bound and numeric — XCS ≤ 1.05× plain; runtime overhead ≤ 15 µs per iteration.",
        "",
        "### Summary",
        "",
        *summary(results),
        "",
        "### XCS runtime overhead per iteration (10,000 iterations of an `@xcs.io` call that returns at once)",
        "",
        *overhead_table(results),
        "",
    ]
    if run.get("auto_overhead"):
        lines += ["### Auto-mode on call-heavy code with nothing to parallelize",
                  "", f"From `benchmarks.hook_overhead` ({run['auto_overhead_note']}).", "",
                  *auto_mode_table(run["auto_overhead"]), ""]
    for index, workload in enumerate(first["workloads"]):
        lines += [f"### {workload['name']}: {workload['title']}", ""]
        for result in results:
            lines += workload_table(result["python"], result["workloads"][index], result["workers"])
    if run.get("plot"):
        lines += [f"Plot: `{run['plot']}` (speedup over plain against N, CPython {first['python']})."]
    else:
        lines += [f"No plot: {run.get('plot_missing', 'matplotlib is not installed')}."]
    return "\n".join(lines)
