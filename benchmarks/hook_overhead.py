"""Benchmark: what auto-mode costs call-heavy code that has nothing to parallelize.

Three configurations, side by side, each in its own processes: plain CPython; a bare
no-op eval-frame function installed (`xcs._hook.install_bare()`: the floor any PEP 523
hook pays, because CPython stops inlining Python-to-Python calls while one is installed);
and `xcs.enable()` (the total). Reports the floor (bare/plain), XCS's own share
(enable/bare, target ≤ 1.05×) and the total (enable/plain) per program and per Python
version. Each process runs every program of `benchmarks.programs` once as warm-up (under
`enable()` that is when each code object is analysed once), then `--samples` timed runs,
keeping its fastest; the figure is the median over `--rounds` processes, with the
configurations interleaved round by round. Writes the `hook-overhead` section of
`benchmarks/RESULTS.md`.

    python -m benchmarks.hook_overhead [--rounds 7] [--samples 3] [--pythons PY ...]
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.programs import PROGRAMS
from benchmarks.report import machine_line, write_section

REPO = Path(__file__).resolve().parent.parent
MODES = ("plain", "bare", "enable")
# Times each program's run() is repeated in one timed sample, so a sample takes tens of ms.
REPEATS = {"fib": 8, "method_calls": 3, "genexpr": 2, "arith_loop": 1, "richards": 6, "nbody": 1,
           "deltablue": 5, "json_dumps": 12}
LABELS = {
    "fib": "recursive `fib(25)`", "method_calls": "method-call loop (300k calls)",
    "genexpr": "generator expression (500k items)", "arith_loop": "plain arithmetic loop (1M)",
    "richards": "richards-style scheduler", "nbody": "nbody (20k steps)",
    "deltablue": "deltablue-style chain propagation", "json_dumps": "`json.dumps(indent=2)` (stdlib; Python encoder on 3.11/3.12, C on 3.13)",
}


def install(mode: str) -> None:
    """Put this process in configuration `mode`; raises if the extension cannot provide it."""
    import xcs  # imported in every mode, so all three pay the same imports

    if mode == "bare":
        from xcs import native

        native.hook().install_bare()
    elif mode == "enable":
        xcs.enable(mechanism="frame")   # this benchmark measures the PEP 523 hook (auto_mode.py: both)


def uninstall(mode: str) -> None:
    import xcs

    if mode == "bare":
        from xcs import native

        native.hook().uninstall()
    elif mode == "enable":
        xcs.disable()


def time_programs(programs, samples: int, mode: str, install, uninstall) -> dict:
    """Time every program in this process between `install(mode)` and `uninstall(mode)`:
    `{program: fastest of `samples` runs of REPEATS[program] calls, in seconds}`. Checks each
    program's result against its expected value (computed at import, plain)."""
    modules = {name: importlib.import_module(f"benchmarks.programs.{name}") for name in programs}
    install(mode)
    try:
        times = {}
        for name, module in modules.items():
            result = module.run()  # warm-up; under enable() the first call analyses the code objects
            if result != module.EXPECTED:
                raise AssertionError(f"{name} under {mode}: {result!r} != {module.EXPECTED!r}")
            best = float("inf")
            for _ in range(samples):
                start = time.perf_counter()
                for _ in range(REPEATS[name]):
                    module.run()
                best = min(best, time.perf_counter() - start)
            times[name] = best
    finally:
        uninstall(mode)
    return times


def worker(mode: str, samples: int, programs=PROGRAMS) -> dict:
    """Time every program in this process under `mode` (see `time_programs`)."""
    return time_programs(programs, samples, mode, install, uninstall)


def measure(python: str, rounds: int, samples: int, programs=PROGRAMS) -> dict:
    """Median over `rounds` processes of each (mode, program), configurations interleaved."""
    runs = {mode: {name: [] for name in programs} for mode in MODES}
    crashes = []
    for _ in range(rounds):
        for mode in MODES:
            out = subprocess.run([python, "-m", "benchmarks.hook_overhead", "--worker", mode, "--samples", str(samples),
                                  "--programs", *programs],
                                 capture_output=True, text=True, cwd=REPO)
            if out.returncode != 0:
                # Kept visible in the report: a worker that printed its figures and then died
                # (a crash at exit of the process) still counts, but the crash is listed.
                crashes.append(f"{mode} worker exited with status {out.returncode}")
                if not out.stdout.strip().startswith("{"):
                    raise RuntimeError(f"{mode} worker failed before reporting:\n{out.stderr[-2000:]}")
            for name, seconds in json.loads(out.stdout.strip().splitlines()[-1]).items():
                runs[mode][name].append(seconds)
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    return {"python": version, "crashes": crashes, "median": {mode: {n: statistics.median(v) for n, v in per.items()}
                                          for mode, per in runs.items()}}


def markdown(results: list, rounds: int, samples: int, command: str) -> str:
    """The RESULTS.md section: per version, one row per program with the three ratios."""
    lines = [
        "## Auto-mode overhead on call-heavy code with nothing to parallelize",
        "",
        f"Median over {rounds} processes per configuration (fastest of {samples} samples in each), configurations "
        "interleaved. *floor* = bare no-op eval-frame function / plain; *XCS share* = `xcs.enable()` / bare "
        "(target ≤ 1.05×); *total* = `xcs.enable()` / plain. Programs are small own versions in "
        f"`benchmarks/programs/` (pyperformance-style, not pyperformance's code). Command: `{command}`",
        "",
        "| CPython | program | plain | floor (bare/plain) | XCS share (enable/bare) | total (enable/plain) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        m = r["median"]
        for name in m["plain"]:
            plain, bare, enable = m["plain"][name], m["bare"][name], m["enable"][name]
            lines.append(f"| {r['python']} | {LABELS[name]} ×{REPEATS[name]} | {plain * 1e3:.1f} ms | "
                         f"{bare / plain:.2f}× | {enable / bare:.2f}× | {enable / plain:.2f}× |")
    for r in results:
        if r["crashes"]:
            lines.append(f"- CPython {r['python']}: after printing its figures, {len(r['crashes'])} worker process(es) "
                         f"crashed: {'; '.join(sorted(set(r['crashes'])))} (-11 = SIGSEGV).")
    lines += ["", f"Machine: {machine_line()} (2 cores shared with other work; figures vary by a few %)."]
    return "\n".join(lines)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--pythons", nargs="*", default=[], help="other interpreters to measure too")
    parser.add_argument("--programs", nargs="*", choices=PROGRAMS, default=list(PROGRAMS))
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print the section without writing RESULTS.md")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.samples, args.programs)))
        return []
    results = [measure(python, args.rounds, args.samples, args.programs) for python in [sys.executable, *args.pythons]]
    chosen = [] if args.programs == list(PROGRAMS) else ["--programs", *args.programs]
    command = " ".join(["python -m benchmarks.hook_overhead", "--rounds", str(args.rounds), "--samples",
                        str(args.samples), *chosen] + (["--pythons", *args.pythons] if args.pythons else []))
    text = markdown(results, args.rounds, args.samples, command)
    print(text)
    if not args.no_write:
        write_section("hook-overhead", text)
    return results


if __name__ == "__main__":
    main()
