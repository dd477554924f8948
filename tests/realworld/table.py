"""What XCS does with each real-world loop, and how much faster: a Markdown table.

    python -m tests.realworld.table [--latency 0.05] [--items 16] [--only NAME ...]

For each loop of `tests.realworld.loops`: one plain run, one `@xcs.jit` run that decides (the
first call gathers evidence), then one timed `@xcs.jit` run, against the local server with
`latency` seconds per request. Columns: the loop, its origin, XCS's decision (`xcs.explain`),
the reason when it is not parallel, the speedup of the timed run over the plain one, whether
sequential execution is required for correctness (and why), and whether the results were
identical (return value, stdout, stderr, files).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import xcs
from tests.realworld import loops, servers
from tests.realworld.observe import observe, visible


def main_report(reports) -> object:
    """The report of the loop the row is about: the outermost loop of the function itself."""
    own = [r for r in reports if "<listcomp>" not in r.function and "<genexpr>" not in r.function] or reports
    return min(own, key=lambda r: r.line or 0)


def reason(report) -> str:
    if report.parallel:
        created = getattr(report.runner, "created", None)
        return ("requests in order: " + ", ".join(f"{where} ({why})" for where, why in created.items())
                if created else "")
    if report.status == "sequential" and report.reasons:
        # The analysis lists consequences ("nothing ... can run apart", "the work reads `x`, which
        # the in-order part changes") beside their causes: show a cause first.
        causes = [r for r in report.reasons if "nothing in the loop body" not in r and "the work reads" not in r]
        first = (causes or report.reasons)[0]
        more = len(report.reasons) - 1
        return first + (f" (+{more} more)" if more else "")
    return report.evidence() or report.current_status()


def timed(loop, env, fn, workdir):
    result = observe(loop, env, fn, workdir)
    return result, result["seconds"]


def measure(loop, env, workdir: Path) -> dict:
    plain, plain_s = timed(loop, env, loop.fn, workdir)
    jitted = xcs.jit(loop.fn)
    first, _ = timed(loop, env, jitted, workdir)
    again, jit_s = timed(loop, env, jitted, workdir)
    report = main_report(xcs.explain(jitted))
    return {"decision": "parallel" if any(r.parallel for r in xcs.explain(jitted)) else "sequential",
            "reason": reason(report), "speedup": plain_s / jit_s,
            "same": visible(first) == visible(plain) and visible(again) == visible(plain)}


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--only", nargs="*", default=None)
    options = parser.parse_args(argv)
    rows = [loop for loop in loops.LOOPS if not options.only or loop.name in options.only]
    counts = {"parallel": 0, "sequential": 0, "required": 0, "differing": 0}
    print(f"Python {sys.version.split()[0]}, latency {options.latency * 1000:.0f} ms, {options.items} items\n")
    print("| loop | origin | decision | reason | speedup | sequential required? | identical |")
    print("|---|---|---|---|---|---|---|")
    with servers.running_server(options.latency) as base, tempfile.TemporaryDirectory() as tmp:
        env = loops.Env(base, options.items, options.latency)
        for loop in rows:
            got = measure(loop, env, Path(tmp) / "run")
            counts[got["decision"]] += 1
            counts["required"] += loop.required is not None
            counts["differing"] += not got["same"]
            required = f"yes: {loop.required}" if loop.required else "no"
            print(f"| {loop.name} | {cell(loop.origin)} | {got['decision']} | {cell(got['reason'])} "
                  f"| {got['speedup']:.2f}x | {cell(required)} | {'yes' if got['same'] else '**NO**'} |", flush=True)
    print(f"\n{len(rows)} loops: {counts['parallel']} parallel, {counts['sequential']} sequential, "
          f"{counts['required']} where sequential execution is required, {counts['differing']} with a different result")
    return 0


if __name__ == "__main__":
    sys.exit(main())
