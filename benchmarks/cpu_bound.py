"""Benchmark: a CPU-bound loop under `@xcs.jit` against plain CPython.

XCS must not cost a CPU-bound loop anything after it has looked once: the first call
analyses the function and probes the loop's first iteration, finds it CPU-bound, and
switches the function back to its original code, so later calls should run at plain speed
(target ≤ 1.05×). Reports first call and later calls against plain, and the probe's own cost
on one iteration. Writes the `evidence-cpu-bound` section of `benchmarks/RESULTS.md`.

    python -m benchmarks.cpu_bound [--items 20] [--work 30000] [--repeat 15]
"""
from __future__ import annotations

import argparse
import statistics
import time
import types

import xcs
from benchmarks.report import command_line, machine_line, write_section
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


def markdown(m: dict, items: int, work: int, repeat: int) -> str:
    ms = lambda s: f"{s * 1e3:.2f} ms"  # noqa: E731
    return "\n".join([
        "## Evidence: CPU-bound loop under `@xcs.jit` vs plain CPython",
        "",
        f"`for x in xs: out.append(crunch(work + x))`, {items} items, pure-Python `crunch` "
        f"(~{ms(m['probe_off'])} per item); median of {repeat} runs; machine: {machine_line()}.",
        f"Command: `{command_line()}`",
        "",
        "| call | time | vs plain |",
        "| --- | --- | --- |",
        f"| plain CPython | {ms(m['plain'])} | 1.00× |",
        f"| `@xcs.jit`, first call (analysis + transform + probe of one iteration) | {ms(m['first'])} | "
        f"{m['first'] / m['plain']:.2f}× |",
        f"| `@xcs.jit`, later calls (target ≤ 1.05×) | {ms(m['later'])} | {m['later'] / m['plain']:.2f}× |",
        "",
        f"Probe on one iteration: {ms(m['probe_on'])} under the probe vs {ms(m['probe_off'])} without "
        f"(+{ms(m['probe_on'] - m['probe_off'])}); the first call costs {ms(m['first'] - m['plain'])} more "
        "than a plain call in all.",
        f"After the first call the function runs its original code: {m['original_code']}. "
        f"`xcs.explain`: {m['explain']}",
    ])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--work", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print the section without writing RESULTS.md")
    args = parser.parse_args(argv)
    m = measure(args.items, args.work, args.repeat)
    text = markdown(m, args.items, args.work, args.repeat)
    print(text)
    if not args.no_write:
        write_section("evidence-cpu-bound", text)
    return m


if __name__ == "__main__":
    main()
