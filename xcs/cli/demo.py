"""`python -m xcs demo`: the seed example, run plainly and with `@xcs.jit`, side by side.

An ensemble of simulated models, each answering after a network-like delay (`time.sleep`),
is queried in a plain `for` loop. The demo times the plain function and the jitted one (its
first call, which gathers evidence, and a later one), checks that they return exactly the same
list, and prints what `xcs.explain` says.
"""
from __future__ import annotations

import argparse
import inspect
import re
import time

import xcs
from xcs import config


class SimulatedModel:
    """A model behind a network call: `predict` blocks for `latency` seconds."""

    def __init__(self, name: str, latency: float):
        self.name, self.latency = name, latency

    def predict(self, prompt: str) -> str:
        time.sleep(self.latency)
        return f"{self.name}: {prompt[::-1]}"


def ensemble(models, prompt):
    """The user's code: ask every model, collect the answers in order."""
    results = []
    for model in models:
        results.append(model.predict(prompt))
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcs demo", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8, help="number of models in the ensemble (default 8)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each model takes (default 0.2)")
    args = parser.parse_args(argv)
    models = [SimulatedModel(f"model-{i}", args.latency) for i in range(args.models)]
    prompt = "an ensemble of models"

    start = time.perf_counter()
    expected = ensemble(models, prompt)
    plain = time.perf_counter() - start

    fast = xcs.jit(ensemble)
    timings, results = [], []
    for _ in range(2):
        start = time.perf_counter()
        results.append(fast(models, prompt))
        timings.append(time.perf_counter() - start)
    first, later = timings
    same = all(got == expected for got in results)
    reports = [] if config.is_disabled() else xcs.explain(fast)

    print(f"{args.models} models, {args.latency:.2f} s each, asked in this loop (xcs/cli/demo.py):")
    print()
    for line in annotated_source(ensemble, reports):
        print(line)
    print()
    if config.is_disabled():
        print("XCS is disabled (XCS_DISABLE is set): xcs.jit returned the plain function, so every run below "
              "is sequential")
    print(f"  plain CPython              : {plain:6.3f} s")
    print(f"  @xcs.jit, first call       : {first:6.3f} s   ({plain / first:.1f}x faster{_first_call_note(reports)})")
    print(f"  @xcs.jit, every later call : {later:6.3f} s   ({plain / later:.1f}x faster)")
    print(f"  same results               : {same}")
    if not config.is_disabled():
        for report in reports:
            print(f"  {report}")
    return 0 if same else 1


def annotated_source(fn, reports) -> list:
    """The source lines of `fn`, numbered, with the lines of each parallel loop marked: the
    `for` line, the in-order lines (run on the calling thread, in iteration order) and the rest
    of the body (run on the worker threads)."""
    lines, first = inspect.getsourcelines(fn)
    notes = {}
    for report in reports:
        if report.current_status() != "parallel" or report.line is None:
            notes.setdefault(report.line, "sequential loop (the report below says why)")
            continue
        in_order = {int(n) for n in re.findall(r"line (\d+)", " ".join(report.in_order))}
        notes[report.line] = "parallel loop: its iterations run on a thread pool"
        indent = _indent(lines[report.line - first])
        for number in range(report.line + 1, first + len(lines)):
            text = lines[number - first]
            if text.strip() and _indent(text) <= indent:
                break
            if number in in_order:
                notes[number] = "in order: on the calling thread, one iteration after another (the call in its argument runs on the workers)"
            elif text.strip():
                notes[number] = "parallel: on a worker thread"
    width = max((len(lines[n - first].rstrip()) for n in notes if n is not None and 0 <= n - first < len(lines)),
                default=0)
    out = []
    for number, text in enumerate(lines, first):
        note = notes.get(number)
        text = text.rstrip()
        out.append(f"  {number:3d}  {text:<{width}}   <- {note}" if note else f"  {number:3d}  {text}")
    return out


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _first_call_note(reports) -> str:
    """Why the first call is slower than later ones, if it is: the evidence gathered on it."""
    if config.is_disabled():
        return ""
    decisions = [getattr(r.runner, "decision", None) for r in reports if r.runner is not None]
    if any(d is not None and d.source == "probe" for d in decisions):
        return "; its first iteration ran alone while XCS measured that it blocks"
    return ""
