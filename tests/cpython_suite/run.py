"""CPython's own regression tests, with and without `xcs.enable()`: they must agree.

    python -m tests.cpython_suite [--modules test_grammar ...] [--timeout 300] [--mechanisms frame ...]

Runs every module of `modules.MODULES` from the interpreter's `test` package, each time in
one fresh child process and in-process there: once plain (the baseline) and once with
auto-mode on for the `test` package (`xcs.enable(include=[<test package dir>])`, since
auto-mode skips the standard library by default) per auto-mode mechanism: "frame" (the PEP
523 hook) on every version, and "monitoring" (`sys.monitoring`) too on 3.12+. Each
mechanism's run is compared with the same plain run. Compares the outcome of every
test id (pass/fail/error/skip/xfail/xpass): any difference makes the exit status 1.
Modules that differ are run once more in both modes; a difference that does not repeat
is reported as flaky and does not fail the run (threading tests are timing-sensitive on a
loaded 2-core machine), one that repeats is reported with both outcomes. Modules with a
repeated difference under the "frame" mechanism are then run a third way, with only a bare
no-op eval-frame function installed (`xcs._hook.install_bare()`): a difference that the bare
hook shows too comes from having any PEP 523 hook installed (CPython stops specializing
Python-to-Python calls while one is, and each call then takes C stack), not from XCS; it is
listed apart and does not fail the run. The "monitoring" mechanism installs no hook, so
none of its differences is excused that way. So are the few differences `modules.KNOWN_DIFFERENCES` accepts, each
with its reason. Every other difference fails the run.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.cpython_suite.modules import KNOWN_BY_MECHANISM, KNOWN_DIFFERENCES, MODULES

REPO = Path(__file__).resolve().parents[2]
SHOW_PER_MODULE = 10  # difference lines printed per module; --json keeps them all


XCS_MODES = {"xcs": "monitoring", "xcs-frame": "frame"}   # child mode -> auto-mode mechanism


def mechanisms() -> list:
    """The auto-mode mechanisms this interpreter has."""
    return ["monitoring", "frame"] if sys.version_info >= (3, 12) else ["frame"]


def mode_of(mechanism: str) -> str:
    return {v: k for k, v in XCS_MODES.items()}[mechanism]


def enable_xcs(mechanism: str) -> dict:
    """Turn auto-mode on for the `test` package; returns what was enabled, for the report.
    Raises if the extension is missing: a run that silently tested nothing would pass."""
    import test

    import xcs
    from xcs.api import auto

    test_dir = os.path.dirname(test.__file__)
    xcs.enable(include=[test_dir], mechanism=mechanism)
    assert auto.mechanism() == mechanism
    return {"include": test_dir, "mechanism": mechanism}


def hook_stats() -> dict:
    """Whatever counters the mechanism exposes (code objects seen, functions swapped), if any."""
    from xcs import native
    from xcs.api import auto

    if auto.mechanism() == "monitoring":
        return dict(auto._monitoring.stats)
    stats = getattr(native.hook_or_none(), "stats", None)
    try:
        return dict(stats()) if callable(stats) else {}
    except Exception as exc:  # noqa: BLE001 - counters are informational
        return {"error": repr(exc)}


def child(mode: str, modules: list, out: Path, timeout: float) -> None:
    """Run `modules` in this process (`mode` "plain", "xcs", "xcs-frame" or "bare"), writing
    results to `out` after each module."""
    from tests.cpython_suite.modules import RESOURCES
    from tests.cpython_suite.outcomes import prepare_test_support, run_module

    prepare_test_support()
    report = {"mode": mode, "python": sys.version.split()[0], "modules": {}}
    if mode in XCS_MODES:
        report["enabled"] = enable_xcs(XCS_MODES[mode])
    elif mode == "bare":
        from xcs import native

        native.hook().install_bare()
    for name in modules:
        report["modules"][name] = run_module(name, timeout, RESOURCES.get(name, ()))
        report["hook"] = hook_stats()
        out.write_text(json.dumps(report))
    if mode in XCS_MODES:
        import xcs

        xcs.disable()
    report["finished"] = True
    out.write_text(json.dumps(report))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_child(mode: str, modules: list, timeout: float) -> dict:
    """Run one mode in a fresh interpreter (this one) and return its report."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{mode}.json"
        cmd = [sys.executable, "-X", "faulthandler", "-m", "tests.cpython_suite.run", "--child", mode, "--out", str(out),
               "--timeout", str(timeout), "--modules", *modules]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        env.pop("XCS_DISABLE", None)
        start = time.perf_counter()
        # SIGINT as an interactive shell gives it: started in the background (`cmd &`, nohup)
        # it is ignored, and CPython's tests that stop a runaway child with
        # `_thread.interrupt_main()` (test_threading's recursion under `except*`) then leave
        # that child spinning forever, long after its test timed out.
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                              preexec_fn=_default_sigint)
        report = json.loads(out.read_text()) if out.exists() else {"modules": {}}
        report["mode"] = mode
        report["returncode"] = proc.returncode
        report["stderr_tail"] = proc.stderr[-3000:]
        report["wall"] = time.perf_counter() - start
        return report


def differences(plain: dict, xcs: dict, modules: list) -> dict:
    """`{module: [(test id, plain outcome, xcs outcome)]}` for every test id whose outcome differs
    (a missing module or test id counts as outcome `missing`)."""
    diffs = {}
    for name in modules:
        a = plain["modules"].get(name, {}).get("outcomes", {"<module not run>": ("missing", "")})
        b = xcs["modules"].get(name, {}).get("outcomes", {"<module not run>": ("missing", "")})
        rows = [(tid, a.get(tid, ("missing", "")), b.get(tid, ("missing", "")))
                for tid in sorted(set(a) | set(b)) if a.get(tid, ("missing",))[0] != b.get(tid, ("missing",))[0]]
        if rows:
            diffs[name] = rows
    return diffs


def counts(report: dict) -> dict:
    tally: dict[str, int] = {}
    for module in report["modules"].values():
        for outcome, _ in module["outcomes"].values():
            tally[outcome] = tally.get(outcome, 0) + 1
    return tally


def compare(plain: dict, against: str, modules: list, timeout: float, json_out: Path | None = None) -> bool:
    """Run `modules` in mode `against`, compare with the `plain` run, print the section; True if they agree."""
    print(f"--- plain against {against}" + (f" (mechanism {XCS_MODES[against]!r})" if against in XCS_MODES else ""))
    xcs = run_child(against, modules, timeout)
    failed = False
    for report in (plain, xcs):
        if report["returncode"] != 0 or not report.get("finished"):
            failed = True
            print(f"{report.get('mode', '?')} run did not finish (exit {report['returncode']}):\n{report['stderr_tail']}")
    diffs = differences(plain, xcs, modules)
    flaky = {}
    if diffs and not failed:
        again = list(diffs)
        plain2, xcs2 = run_child("plain", again, timeout), run_child(against, again, timeout)
        repeated = differences(plain2, xcs2, again)
        for name, rows in list(diffs.items()):
            keep = {tid for tid, *_ in repeated.get(name, [])}
            # A difference counts only if it shows again for the same test id in the rerun.
            stable = [row for row in rows if row[0] in keep]
            gone = [row for row in rows if row[0] not in keep]
            if gone:
                flaky[name] = gone
            if stable:
                diffs[name] = stable
            else:
                del diffs[name]
    any_hook = {}
    # Only the frame mechanism installs an eval-frame function: only its differences may be
    # ones any PEP 523 hook makes.
    if diffs and not failed and against == "xcs-frame":
        bare = run_child("bare", [n for n in diffs if n in xcs["modules"]], timeout)
        for name, rows in list(diffs.items()):
            outcomes = bare["modules"].get(name, {}).get("outcomes", {})
            also_bare = [row for row in rows if outcomes.get(row[0], ("missing",))[0] == row[2][0]]
            if also_bare:
                any_hook[name] = also_bare
                diffs[name] = [row for row in rows if row not in also_bare]
                if not diffs[name]:
                    del diffs[name]

    tests = sum(len(m["outcomes"]) for m in plain["modules"].values())
    print(f"modules: {len(plain['modules'])} plain, {len(xcs['modules'])} {against}; test ids: {tests}")
    print(f"plain outcomes: {counts(plain)}  ({plain['wall']:.0f} s)")
    print(f"{against:5} outcomes: {counts(xcs)}  ({xcs['wall']:.0f} s)")
    if xcs.get("hook"):
        print(f"hook counters: {xcs['hook']}")
    slow = sorted(((m['seconds'], n) for n, m in xcs["modules"].items()), reverse=True)[:5]
    print(f"slowest ({against}): " + ", ".join(f"{n} {s:.1f}s" for s, n in slow))
    baseline_bad = {n: sum(1 for o, _ in m["outcomes"].values() if o in ("fail", "error", "load-error"))
                    for n, m in plain["modules"].items()}
    baseline_bad = {n: c for n, c in baseline_bad.items() if c}
    if baseline_bad:
        print(f"failing without XCS too (baseline, compared per test id): {baseline_bad}")
    for name, rows in flaky.items():
        for tid, a, b in rows:
            print(f"flaky (did not repeat): {tid}: plain={a[0]} xcs={b[0]} {b[1] or a[1]}")
    version = "%d.%d" % sys.version_info[:2]
    known_here = {**KNOWN_DIFFERENCES.get(version, {}),
                  **KNOWN_BY_MECHANISM.get(XCS_MODES.get(against), {}).get(version, {})}
    known = {name: [row for row in rows if row[0] in known_here] for name, rows in diffs.items()}
    known = {name: rows for name, rows in known.items() if rows}
    for name, rows in known.items():
        diffs[name] = [row for row in diffs[name] if row not in rows]
        if not diffs[name]:
            del diffs[name]
        for tid, a, b in rows:
            print(f"known (accepted): {tid}: plain={a[0]} xcs={b[0]} — {known_here[tid]}")
    for name, rows in any_hook.items():
        for tid, a, b in rows:
            print(f"same with a bare hook (any PEP 523 hook, not XCS): {tid}: plain={a[0]} xcs={b[0]} {b[1]!r}")
    for name, rows in list(diffs.items()):
        if name not in xcs["modules"]:
            print(f"NOT RUN with {against}: {name} ({len(rows)} test ids)")
            continue
        for tid, a, b in rows[:SHOW_PER_MODULE]:
            print(f"DIFFERENCE {tid}: plain={a[0]} {a[1]!r} | xcs={b[0]} {b[1]!r}")
        if len(rows) > SHOW_PER_MODULE:
            print(f"... and {len(rows) - SHOW_PER_MODULE} more differences in {name}")
    print(f"differences: {sum(map(len, diffs.values()))} (besides {sum(map(len, any_hook.values()))} that a "
          f"bare hook shows too and {sum(map(len, known.values()))} known)")
    if json_out is not None:
        json_out.write_text(json.dumps({"plain": plain, "xcs": xcs, "differences": diffs, "flaky": flaky,
                                        "any_hook": any_hook, "known": known}))
    return not (failed or diffs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="*", default=list(MODULES))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one module may take before the run aborts")
    parser.add_argument("--child", choices=["plain", "bare", *XCS_MODES], help=argparse.SUPPRESS)
    parser.add_argument("--mechanisms", nargs="*", choices=["monitoring", "frame"],
                        help="auto-mode mechanisms to compare with plain (default: every one this interpreter has)")
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write both reports and the differences here")
    parser.add_argument("--against", choices=["xcs", "plain"], default="xcs",
                        help="second run's mode; 'plain' is a self-check of the runner (must show no differences)")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.modules, args.out, args.timeout)
        return 0

    chosen = args.mechanisms or mechanisms()
    againsts = [mode_of(m) for m in chosen] if args.against == "xcs" else ["plain"]
    print(f"CPython {sys.version.split()[0]}: {len(args.modules)} modules of the test package, plain then "
          + (", ".join(f"xcs.enable(mechanism={m!r})" for m in chosen) if args.against == "xcs"
             else "plain again (self-check)"))
    plain = run_child("plain", args.modules, args.timeout)
    ok = True
    for against in againsts:
        json_out = args.json.with_name(f"{args.json.stem}-{against}{args.json.suffix}") if args.json else None
        ok = compare(plain, against, args.modules, args.timeout, json_out) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
