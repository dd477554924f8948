"""Benchmark: a CPU-bound loop under `@xcs.jit` against plain CPython.

XCS must not cost a CPU-bound loop anything after it has looked once: the first call
analyses the function and probes the loop's first iteration, finds it CPU-bound, and
switches the function back to its original code, so later calls should run at plain speed
(target ≤ 1.05×). Reports first call and later calls against plain, and the probe's own cost
on one iteration. Writes the `evidence-cpu-bound` section of `benchmarks/RESULTS.md`.

    python -m benchmarks.cpu_bound [--items 20] [--work 30000] [--repeat 15] [--pythons PY ...]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
import types
from pathlib import Path

import xcs
from benchmarks.report import machine_line, write_section
from xcs.evidence.probe import Probe


def crunch(n: int) -> int:
    """Pure-Python arithmetic: holds the GIL the whole time."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def cpu_loop(xs, work):
    out = []
    for x in xs:
        out.append(crunch(work + x))
    return out


def fresh(fn, n: int):
    """A copy of `fn` with its own code object, so XCS treats it as never seen (its compile
    cache is keyed by code object, and equal code objects compare equal)."""
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{n}", co_qualname=f"{fn.__qualname__}_{n}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(items: int, work: int, repeat: int) -> dict:
    xs = list(range(items))
    expected = cpu_loop(xs, work)
    plain, first, later, probe_on, probe_off = [], [], [], [], []
    for n in range(repeat):
        plain.append(timed(lambda: cpu_loop(xs, work)))
        fast = xcs.jit(fresh(cpu_loop, n))
        result = []
        first.append(timed(lambda: result.append(fast(xs, work))))
        assert result == [expected], "jit changed the result"
        later.append(timed(lambda: fast(xs, work)))
        probe_off.append(timed(lambda: crunch(work)))

        def probed():
            with Probe():
                crunch(work)

        probe_on.append(timed(probed))
    report = xcs.explain(fast)
    return {
        "plain": statistics.median(plain), "first": statistics.median(first),
        "later": statistics.median(later), "probe_on": statistics.median(probe_on),
        "probe_off": statistics.median(probe_off), "explain": "; ".join(map(str, report)),
        "original_code": fast.__code__ is fast.__xcs_original__.__code__,
    }


def markdown(runs: list, items: int, work: int, repeat: int, command: str) -> str:
    """The RESULTS.md section: one block of rows per interpreter measured."""
    ms = lambda s: f"{s * 1e3:.2f} ms"  # noqa: E731
    lines = [
        "## Evidence: CPU-bound loop under `@xcs.jit` vs plain CPython",
        "",
        f"`for x in xs: out.append(crunch(work + x))`, {items} items of pure-Python `crunch`; median of "
        f"{repeat} runs each. Command: `{command}`",
        "",
        "| CPython | call | time | vs plain |",
        "| --- | --- | --- | --- |",
    ]
    for m in runs:
        v = m["python"]
        lines += [
            f"| {v} | plain CPython | {ms(m['plain'])} | 1.00× |",
            f"| {v} | `@xcs.jit`, first call (analysis + transform + probe of one iteration) | {ms(m['first'])} | "
            f"{m['first'] / m['plain']:.2f}× |",
            f"| {v} | `@xcs.jit`, later calls (target ≤ 1.05×) | {ms(m['later'])} | {m['later'] / m['plain']:.2f}× |",
        ]
    lines.append("")
    for m in runs:
        lines.append(
            f"- CPython {m['python']}: one iteration takes {ms(m['probe_on'])} under the probe vs "
            f"{ms(m['probe_off'])} without (+{ms(m['probe_on'] - m['probe_off'])}); the first call costs "
            f"{ms(m['first'] - m['plain'])} more than a plain call in all; afterwards the function runs its "
            f"original code: {m['original_code']}. `xcs.explain`: {m['explain']}")
    lines += ["", f"Machine: {runs[0]['machine']}."]
    return "\n".join(lines)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--work", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pythons", nargs="*", default=[],
                        help="other interpreters to measure too (each runs this module with --json)")
    parser.add_argument("--json", action="store_true", help="print this interpreter's figures as JSON only")
    parser.add_argument("--no-write", action="store_true", help="print the section without writing RESULTS.md")
    args = parser.parse_args(argv)
    sizes = ["--items", str(args.items), "--work", str(args.work), "--repeat", str(args.repeat)]
    m = measure(args.items, args.work, args.repeat)
    m.update(python=platform.python_version(), machine=machine_line())
    if args.json:
        print(json.dumps(m))
        return [m]
    runs = [m]
    for python in args.pythons:
        out = subprocess.run([python, "-m", "benchmarks.cpu_bound", "--json", *sizes], check=True,
                             capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    command = " ".join(["python -m benchmarks.cpu_bound", *sizes] + (["--pythons", *args.pythons] if args.pythons else []))
    text = markdown(runs, args.items, args.work, args.repeat, command)
    print(text)
    if not args.no_write:
        write_section("evidence-cpu-bound", text)
    return runs


if __name__ == "__main__":
    main()
