"""`python -m benchmarks`: every workload, every contender, side by side; writes the report.

    python -m benchmarks --quick                      # under 2 minutes: N = 1, 8, 32; 50 ms latency
    python -m benchmarks [--pythons PY ...]           # the full run: N up to 512, 100 ms latency
    python -m benchmarks --workloads sleep http-urllib --sizes 2 --repeat 1 --out-dir /tmp/b

Each interpreter (this one, then each of `--pythons`) runs the workloads in its own child
process, printing one progress line per workload and N; then the auto-mode overhead on
call-heavy programs is measured (`benchmarks.hook_overhead`) unless `--no-auto-overhead`.
Writes, into `--out-dir` (default `benchmarks/`): `RESULTS.md` (section `harness`, or
`harness-quick`), `results.json` (or `results-quick.json`) and `speedup.png` (or
`speedup-quick.png`; needs matplotlib). Exit status 1 if any contender returned a result
different from plain.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import machine_line, write_section

BENCHMARKS = Path(__file__).resolve().parents[1]
REPO = BENCHMARKS.parent
FULL = {"repeat": 5, "latency": 0.1, "plain_budget": 20.0, "overhead_repeat": 7,
        "hook_rounds": 7, "hook_samples": 3, "hook_programs": None}
QUICK = {"repeat": 3, "latency": 0.05, "plain_budget": 3.0, "overhead_repeat": 3,
         "hook_rounds": 1, "hook_samples": 1, "hook_programs": ["fib", "method_calls", "genexpr"]}


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer runs: under 2 minutes")
    parser.add_argument("--workloads", nargs="+", help="names of workloads to run (default: all)")
    parser.add_argument("--sizes", type=int, nargs="+", help="these N for every workload (default: per workload)")
    parser.add_argument("--repeat", type=int, help="runs per contender and N")
    parser.add_argument("--latency", type=float, help="seconds per blocking call")
    parser.add_argument("--workers", type=int, help="workers for every contender (default: XCS's max_workers)")
    parser.add_argument("--pythons", nargs="*", default=[], help="other interpreters to measure in the same run")
    parser.add_argument("--no-auto-overhead", action="store_true", help="skip the auto-mode overhead programs")
    parser.add_argument("--auto-programs", nargs="+", help="programs of benchmarks.programs for the auto-mode overhead")
    parser.add_argument("--out-dir", type=Path, default=BENCHMARKS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def plan_of(args) -> dict:
    plan = dict(QUICK if args.quick else FULL)
    for key in ("repeat", "latency"):
        if getattr(args, key) is not None:
            plan[key] = getattr(args, key)
    if args.auto_programs:
        plan["hook_programs"] = args.auto_programs
    return plan


def child_argv(args) -> list:
    """The options a child interpreter needs to run the same plan."""
    argv = ["--worker"] + (["--quick"] if args.quick else [])
    for key in ("workloads", "sizes"):
        if getattr(args, key):
            argv += [f"--{key}", *map(str, getattr(args, key))]
    for key in ("repeat", "latency", "workers"):
        if getattr(args, key) is not None:
            argv += [f"--{key}", str(getattr(args, key))]
    return argv


def run_workloads(args) -> dict:
    """This interpreter's figures for every chosen workload (the child process's job)."""
    import xcs
    from benchmarks.harness.measure import measure_workload, progress_line
    from benchmarks.harness.overhead import per_iteration_overhead
    from benchmarks.workloads import Options, all_workloads

    plan = plan_of(args)
    workers = args.workers or xcs.settings().max_workers
    python = platform.python_version()
    chosen = all_workloads()
    if args.workloads:
        known = {w.name for w in chosen}
        unknown = sorted(set(args.workloads) - known)
        if unknown:
            raise SystemExit(f"unknown workloads {unknown}; known: {sorted(known)}")
        chosen = [w for w in chosen if w.name in args.workloads]
    show = progress_line(f"[{python}]")
    results = []
    for workload in chosen:
        sizes = args.sizes or (workload.quick_sizes if args.quick else workload.sizes)
        results.append(measure_workload(workload, Options(plan["latency"]), sizes, plan["repeat"], workers,
                                        plan["plain_budget"], show))
        if results[-1].get("skipped"):
            print(f"[{python}] {workload.name}: not run — {results[-1]['skipped']}", file=sys.stderr, flush=True)
    overhead = per_iteration_overhead(plan["overhead_repeat"], workers)
    print(f"[{python}] runtime overhead: {overhead['xcs_us']:.1f} µs per iteration "
          f"(pool {overhead['pool_us']:.1f} µs)", file=sys.stderr, flush=True)
    return {"python": python, "executable": sys.executable, "machine": machine_line(), "workers": workers,
            "latency": plan["latency"], "repeat": plan["repeat"], "plain_budget": plan["plain_budget"],
            "workloads": results, "overhead": overhead}


def run_child(python: str, args) -> dict:
    out = subprocess.run([python, "-m", "benchmarks", *child_argv(args)], cwd=REPO, stdout=subprocess.PIPE,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    if out.returncode != 0:
        raise RuntimeError(f"the benchmark run under {python} failed (exit status {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def auto_overhead(pythons: list, plan: dict) -> list:
    from benchmarks.hook_overhead import measure
    from benchmarks.programs import PROGRAMS

    programs = plan["hook_programs"] or list(PROGRAMS)
    out = []
    for python in pythons:
        print(f"auto-mode overhead under {python} ...", file=sys.stderr, flush=True)
        out.append(measure(python, plan["hook_rounds"], plan["hook_samples"], programs))
    return out


def command_of(argv) -> str:
    return " ".join(["python -m benchmarks", *argv])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    if args.worker:
        print(json.dumps(run_workloads(args)))
        return 0
    plan = plan_of(args)
    started = time.monotonic()
    pythons = [sys.executable, *args.pythons]
    results = [run_child(python, args) for python in pythons]
    run = {"command": command_of(argv), "quick": args.quick, "machine": machine_line(), "results": results}
    if not args.no_auto_overhead:
        run["auto_overhead"] = auto_overhead(pythons, plan)
        run["auto_overhead_note"] = (f"median over {plan['hook_rounds']} processes per configuration, fastest of "
                                     f"{plan['hook_samples']} samples in each")
    run["elapsed"] = time.monotonic() - started
    suffix = "-quick" if args.quick else ""
    args.out_dir.mkdir(parents=True, exist_ok=True)
    from benchmarks.harness.plot import plot

    png = args.out_dir / f"speedup{suffix}.png"
    why_not = plot(results[0], png)
    if why_not:
        run["plot_missing"] = why_not
    else:
        run["plot"] = os.path.relpath(png, REPO) if png.is_relative_to(REPO) else str(png)
    (args.out_dir / f"results{suffix}.json").write_text(json.dumps(run, indent=1) + "\n")
    from benchmarks.harness.tables import markdown

    text = markdown(run)
    write_section(f"harness{suffix}", text, args.out_dir / "RESULTS.md")
    if run.get("auto_overhead") and not args.quick and not args.auto_programs:
        from benchmarks import hook_overhead

        # The same figures in the section the hook issue's reader looks for.
        write_section("hook-overhead", hook_overhead.markdown(run["auto_overhead"], plan["hook_rounds"],
                                                              plan["hook_samples"], run["command"] + " (auto-mode part)"),
                      args.out_dir / "RESULTS.md")
    print(text)
    different = [(r["python"], w["name"], row["n"], name) for r in results for w in r["workloads"]
                 for row in w["rows"] for name, same in row["same"].items() if not same]
    if different:
        print(f"DIFFERENT RESULTS: {different}", file=sys.stderr)
        return 1
    return 0
