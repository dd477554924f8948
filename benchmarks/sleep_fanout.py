"""Benchmark: the seed example's shape — a loop of blocking calls — plain vs `@xcs.jit` vs a
hand-written `ThreadPoolExecutor`, side by side in one run.

Each iteration calls `fetch(x)`, which sleeps `delay` seconds (a stand-in for a network call)
and returns a value the loop appends. For N = 3, 16 and 64 iterations it times plain CPython,
the jitted function on later calls (the first call, which also compiles, is shown apart), and `ThreadPoolExecutor(max_workers).map` — the code users write by hand today. It
checks all three return the same list, and reports the median of `repeat` runs with min–max.
Targets (from the core issue): speedup over plain ≥ 0.9 × min(N, workers); XCS / pool ≤ 1.10.
Writes the `core-sleep-fanout` section of `benchmarks/RESULTS.md`.

    python -m benchmarks.sleep_fanout [--sizes 3 16 64] [--delay 0.05] [--repeat 7] [--pythons PY ...]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import xcs
from benchmarks.report import machine_line, write_section


def fetch(x, delay):
    """A blocking call: waits like a request to a model or an HTTP API."""
    time.sleep(delay)
    return x * 2


def fan_out(xs, delay):
    """The user's plain loop."""
    results = []
    for x in xs:
        results.append(fetch(x, delay))
    return results


def by_hand(xs, delay, workers):
    """What users write today instead of the plain loop."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda x: fetch(x, delay), xs))


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def measure(n: int, delay: float, repeat: int, workers: int) -> dict:
    xs = list(range(n))
    expected = fan_out(xs, delay)
    fast = xcs.jit(fan_out)
    first, first_result = timed(lambda: fast(xs, delay))
    runs = {"plain": [], "xcs": [], "pool": []}
    same = first_result == expected
    for _ in range(repeat):
        for name, call in (("plain", lambda: fan_out(xs, delay)), ("xcs", lambda: fast(xs, delay)),
                           ("pool", lambda: by_hand(xs, delay, workers))):
            seconds, result = timed(call)
            runs[name].append(seconds)
            same = same and result == expected
    medians = {name: statistics.median(times) for name, times in runs.items()}
    return {
        "n": n, "first": first, "same": same, "medians": medians,
        "ranges": {name: (min(times), max(times)) for name, times in runs.items()},
        "status": [str(r) for r in xcs.explain(fast)],
    }


def run_here(sizes, delay, repeat) -> dict:
    workers = xcs.settings().max_workers
    rows = [measure(n, delay, repeat, workers) for n in sizes]
    return {"python": platform.python_version(), "workers": workers, "delay": delay, "repeat": repeat,
            "rows": rows, "machine": machine_line()}


def table(results: list[dict]) -> str:
    lines = ["| CPython | N | plain | `@xcs.jit` (later calls) | hand-written pool | speedup over plain "
             "(target ≥ 0.9 × min(N, workers)) | XCS / pool (target ≤ 1.10) | `@xcs.jit` first call | same results |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for res in results:
        for row in res["rows"]:
            m, r = row["medians"], row["ranges"]
            target = 0.9 * min(row["n"], res["workers"])
            speedup, versus = m["plain"] / m["xcs"], m["xcs"] / m["pool"]

            def cell(name):
                lo, hi = r[name]
                return f"{m[name] * 1000:.1f} ms ({lo * 1000:.1f}–{hi * 1000:.1f})"

            lines.append(
                f"| {res['python']} | {row['n']} | {cell('plain')} | {cell('xcs')} | {cell('pool')} | "
                f"{speedup:.2f}× ({'met' if speedup >= target else 'MISSED'}: ≥ {target:.1f}) | "
                f"{versus:.2f} ({'met' if versus <= 1.10 else 'MISSED'}) | {row['first'] * 1000:.1f} ms | "
                f"{row['same']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 16, 64])
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pythons", nargs="*", default=[], help="also run under these interpreters")
    parser.add_argument("--json", action="store_true", help="print this interpreter's results as JSON only")
    args = parser.parse_args(argv)
    here = run_here(args.sizes, args.delay, args.repeat)
    if args.json:
        print(json.dumps(here))
        return 0
    results = [here]
    for python in args.pythons:
        out = subprocess.run([python, "-m", "benchmarks.sleep_fanout", "--json", "--sizes", *map(str, args.sizes),
                              "--delay", str(args.delay), "--repeat", str(args.repeat)],
                             capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    command = "python -m benchmarks.sleep_fanout " + " ".join(
        ["--sizes", *map(str, args.sizes), "--delay", str(args.delay), "--repeat", str(args.repeat)]
        + (["--pythons", *args.pythons] if args.pythons else []))
    body = [
        "## Core: blocking loop — plain CPython vs `@xcs.jit` vs a hand-written `ThreadPoolExecutor`",
        "",
        f"`for x in xs: results.append(fetch(x))`, `fetch` sleeping {args.delay * 1000:.0f} ms; median of "
        f"{args.repeat} runs (min–max), all three in the same process, interleaved. Workers: XCS default "
        f"`max_workers` = {here['workers']}, the pool the same. The first `@xcs.jit` call also analyses and "
        "transforms the function (here `time.sleep` is a known blocking call, so no iteration is probed). "
        "Command: `" + command + "`",
        "",
        table(results),
        "",
        "`xcs.explain`: " + "; ".join(sorted({s for res in results for row in res["rows"] for s in row["status"]})),
        "",
        "Machine: " + here["machine"] + ".",
    ]
    write_section("core-sleep-fanout", "\n".join(body))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
