"""Benchmark: auto-mode (`xcs.enable()`) against plain CPython, per mechanism (issue 12).

Three parts, each in child processes of every interpreter given:

1. Overhead on call-heavy code with nothing to parallelize (`benchmarks/programs/`: fib,
   method calls, richards, nbody, deltablue, json_dumps): plain, `xcs.enable()` with the
   "monitoring" mechanism (3.12+ default) and with the "frame" mechanism (the PEP 523 hook;
   the only one on 3.11). Median over `--rounds` processes per configuration, configurations
   interleaved round by round; each process keeps its fastest of `--samples` samples after
   one warm-up run (under `enable()` that is when each code object is seen once).
2. Discovery: a generated program of 1,000 functions imported and each called once — the
   time over plain is what seeing, filtering (and, for functions with loops, analysing)
   costs, per code object: once with 100 of them holding a parallelizable loop, once with
   none (the pure cost of being seen).
3. First call or second call: for each way a function can be called, whether its loop
   runs in parallel on the first call already or from the second (peak concurrency of
   `tests.corpus.probe.io` inside the loop, not a stopwatch).

    python -m benchmarks.auto_mode [--rounds 7] [--samples 3] [--pythons PY ...] [--no-write]

Writes the `auto-mode` section of `benchmarks/RESULTS.md`.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.hook_overhead import LABELS, REPEATS, time_programs
from benchmarks.report import machine_line, write_section

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = ("fib", "method_calls", "richards", "nbody", "deltablue", "json_dumps")
FUNCTIONS, WITH_LOOPS = 1000, 100


def modes() -> list:
    return ["plain", "monitoring", "frame"] if sys.version_info >= (3, 12) else ["plain", "frame"]


def _enable(mode: str) -> None:
    import xcs

    if mode != "plain":
        xcs.enable(mechanism=mode)


def _disable(mode: str) -> None:
    import xcs

    if mode != "plain":
        xcs.disable()


# -- part 1: overhead -----------------------------------------------------------------------

def overhead_worker(mode: str, samples: int) -> dict:
    return time_programs(PROGRAMS, samples, mode, _enable, _disable)


# -- part 2: discovery ----------------------------------------------------------------------

def _generated_program(folder: Path, with_loops: int) -> str:
    lines = ["from tests.corpus.probe import io", ""]
    for i in range(FUNCTIONS):
        if with_loops and i % (FUNCTIONS // with_loops) == 0:
            lines += [f"def f{i}(xs):", "    out = []", "    for x in xs:", "        out.append(io(x))",
                      "    return out", ""]
        else:
            lines += [f"def f{i}(a, b=1):", f"    return a + b * {i}", ""]
    lines += ["def main():", "    for i in range(%d):" % FUNCTIONS, "        fn = globals()[f'f{i}']",
              "        fn([]) if fn.__code__.co_argcount == 1 else fn(i)", ""]
    name = f"discovery_program_{with_loops}"
    (folder / f"{name}.py").write_text("\n".join(lines))
    return name


def discovery_worker(mode: str) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, tmp)
        for with_loops in (WITH_LOOPS, 0):
            name = _generated_program(Path(tmp), with_loops)
            _enable(mode)
            try:
                start = time.perf_counter()
                module = importlib.import_module(name)
                module.main()
                first = time.perf_counter() - start
                start = time.perf_counter()
                module.main()
                second = time.perf_counter() - start
            finally:
                _disable(mode)
            out[str(with_loops)] = {"first": first, "second": second}
    return out


# -- part 3: first or second call -----------------------------------------------------------

SHAPES = textwrap.dedent("""
    import threading
    from tests.corpus.probe import io

    def fan(xs):
        out = []
        for x in xs:
            out.append(io(x))
        return out

    def make():
        def closure(xs):
            out = []
            for x in xs:
                out.append(io(x))
            return out
        return closure

    class Client:
        def get_all(self, xs):
            out = []
            for x in xs:
                out.append(io(x))
            return out

    def from_user_code(f, xs):
        return f(xs)

    def star_args(f, xs):
        return f(*(xs,))

    def in_thread(f, xs):
        out = []
        t = threading.Thread(target=lambda: out.append(f(xs)))
        t.start()
        t.join()
        return out[0]
""")
CASES = {
    "call from user code": "from_user_code(fresh('fan'), XS)",
    "method call from user code": "from_user_code(fresh_client().get_all, XS)",
    "a new closure each time, from user code": "from_user_code(ns['make'](), XS)",
    "`f(*args)` from user code": "star_args(fresh('fan'), XS)",
    "called from C (`map(f, xs)`)": "list(map(fresh('fan'), [XS]))[0]",
    "thread target": "in_thread(fresh('fan'), XS)",
}


def first_call_worker(mode: str) -> dict:
    from tests.corpus.probe import measuring

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, expression in CASES.items():
            path = Path(tmp) / f"shapes_{len(out)}.py"
            path.write_text(SHAPES)
            ns: dict = {}
            exec(compile(SHAPES, str(path), "exec"), ns)
            functions: dict = {}

            def fresh(name, ns=ns, functions=functions):
                return functions.setdefault(name, ns[name])

            def fresh_client(ns=ns, functions=functions):
                return functions.setdefault("client", ns["Client"]())

            ns.update(fresh=fresh, fresh_client=fresh_client, XS=list(range(6)), ns=ns)
            # the calling expression is user code too (a file of its own), compiled before enable()
            call = compile(expression, str(Path(tmp) / f"call_{len(out)}.py"), "eval")
            _enable(mode)
            peaks = []
            try:
                for _ in range(2):
                    with measuring() as state:
                        assert eval(call, ns) == list(range(6))
                    peaks.append(state["peak"])
            finally:
                _disable(mode)
            out[label] = peaks
    return out


# -- driver ---------------------------------------------------------------------------------

def _child(python: str, part: str, mode: str, samples: int = 3) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    env.pop("XCS_DISABLE", None)
    out = subprocess.run([python, "-m", "benchmarks.auto_mode", "--worker", part, mode, "--samples", str(samples)],
                         capture_output=True, text=True, cwd=REPO, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{part} worker ({mode}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def overhead_only(python: str, rounds: int, samples: int) -> str:
    """Part 1 alone, plain against the default mechanism: one markdown line per program."""
    runs = {"plain": [], "default": []}
    for _ in range(rounds):
        for mode in runs:
            runs[mode].append(_child(python, "overhead", "monitoring" if mode == "default" else "plain", samples))
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"], check=True,
                             capture_output=True, text=True).stdout.strip()
    ratios = [f"{name} {statistics.median(r[name] for r in runs['default']) / statistics.median(r[name] for r in runs['plain']):.2f}×"
              for name in PROGRAMS]
    return f"- CPython {version}, monitoring / plain: " + ", ".join(ratios)


def measure(python: str, rounds: int, samples: int) -> dict:
    info = json.loads(subprocess.run([python, "-c", "import json, platform, sys; print(json.dumps("
                                      "[platform.python_version(), sys.version_info >= (3, 12)]))"],
                                     check=True, capture_output=True, text=True).stdout)
    version, has_monitoring = info
    run_modes = ["plain", "monitoring", "frame"] if has_monitoring else ["plain", "frame"]
    runs = {mode: {name: [] for name in PROGRAMS} for mode in run_modes}
    for _ in range(rounds):
        for mode in run_modes:
            for name, seconds in _child(python, "overhead", mode, samples).items():
                runs[mode][name].append(seconds)
    discovery = {mode: [] for mode in run_modes}
    for _ in range(max(3, rounds // 2)):
        for mode in run_modes:
            discovery[mode].append(_child(python, "discovery", mode))
    first_calls = {mode: _child(python, "first-call", mode) for mode in run_modes if mode != "plain"}
    return {"python": version, "modes": run_modes,
            "median": {mode: {n: statistics.median(v) for n, v in per.items()} for mode, per in runs.items()},
            "discovery": {mode: {n: {k: statistics.median(r[n][k] for r in rs) for k in ("first", "second")}
                                 for n in (str(WITH_LOOPS), "0")}
                          for mode, rs in discovery.items()},
            "first_calls": first_calls}


def _when(peaks: list) -> str:
    if peaks[0] > 1:
        return "first call"
    if peaks[1] > 1:
        return "second call"
    return "not parallel"


def markdown(results: list, rounds: int, samples: int, command: str) -> str:
    lines = [
        "## Auto-mode (issue 12): `xcs.enable()` / plain, per mechanism",
        "",
        f"Median over {rounds} processes per configuration (fastest of {samples} samples in each, after one warm-up "
        "run), configurations interleaved, all in the same run. *monitoring* = `xcs.enable()` on 3.12+ "
        "(`sys.monitoring`, the default there); *frame* = `xcs.enable(mechanism=\"frame\")` (the PEP 523 hook; the "
        f"only mechanism on 3.11). Target: monitoring ≤ 1.03× plain. Command: `{command}`",
        "",
        "| CPython | program | plain | monitoring / plain | frame / plain |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        m = r["median"]
        for name in PROGRAMS:
            plain = m["plain"][name]
            mon = f"{m['monitoring'][name] / plain:.2f}×" if "monitoring" in m else "—"
            lines.append(f"| {r['python']} | {LABELS[name]} ×{REPEATS[name]} | {plain * 1e3:.1f} ms | {mon} | "
                         f"{m['frame'][name] / plain:.2f}× |")
    lines += ["", f"**Discovery**: a generated module of {FUNCTIONS} functions, imported and each function called "
              f"once (*first*), then each called again (*second*): with {WITH_LOOPS} of them holding a "
              "parallelizable loop (called with an empty list; XCS analyses and compiles each), and with none "
              "(only seeing and filtering). Median over processes; per code object = (first − plain first) / "
              f"{FUNCTIONS}.", "",
              "| CPython | functions with loops | mechanism | first pass | second pass | per code object |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        d = r["discovery"]
        for n in (str(WITH_LOOPS), "0"):
            for mode in r["modes"]:
                extra = (d[mode][n]["first"] - d["plain"][n]["first"]) / FUNCTIONS
                per = "—" if mode == "plain" else f"{extra * 1e6:.0f} µs"
                lines.append(f"| {r['python']} | {n} | {mode} | {d[mode][n]['first'] * 1e3:.1f} ms | "
                             f"{d[mode][n]['second'] * 1e3:.2f} ms | {per} |")
    lines += ["", "**First call or second call**: when a function's loop first runs in parallel (peak concurrency "
              "inside the loop on calls 1 and 2; the function and the calling code are user code, defined before "
              "`enable()`).", ""]
    header = ["way of calling"] + [f"{r['python']} {mode}" for r in results for mode in r["first_calls"]]
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label in CASES:
        row = [label] + [_when(r["first_calls"][mode][label]) for r in results for mode in r["first_calls"]]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Machine: {machine_line()} (2 cores shared with other work; figures vary by a few %)."]
    return "\n".join(lines)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--pythons", nargs="*", default=[], help="other interpreters to measure too")
    parser.add_argument("--worker", nargs=2, metavar=("PART", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print the section without writing RESULTS.md")
    parser.add_argument("--overhead-only", action="store_true",
                        help="only part 1, plain against monitoring (3.12+), printed; RESULTS.md is not written")
    args = parser.parse_args(argv)
    if args.worker:
        part, mode = args.worker
        work = {"overhead": lambda: overhead_worker(mode, args.samples), "discovery": lambda: discovery_worker(mode),
                "first-call": lambda: first_call_worker(mode)}[part]
        print(json.dumps(work()))
        return []
    if args.overhead_only:
        for python in [sys.executable, *args.pythons]:
            print(overhead_only(python, args.rounds, args.samples))
        return []
    results = [measure(python, args.rounds, args.samples) for python in [sys.executable, *args.pythons]]
    command = " ".join(["python -m benchmarks.auto_mode", "--rounds", str(args.rounds), "--samples", str(args.samples)]
                       + (["--pythons", *args.pythons] if args.pythons else []))
    text = markdown(results, args.rounds, args.samples, command)
    print(text)
    if not args.no_write:
        write_section("auto-mode", text)
    return results


if __name__ == "__main__":
    main()
