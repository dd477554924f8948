"""`python -m xcs demo`: the seed example, run plainly and with `@xcs.jit`, side by side.

An ensemble of simulated models, each answering after a network-like delay (`time.sleep`),
is queried in a plain `for` loop. The demo times the plain function and the jitted one (its
first call, which gathers evidence, and a later one), checks that they return exactly the same
list, and prints what `xcs.explain` says.
"""
from __future__ import annotations

import argparse
import time

import xcs


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

    print(f"{args.models} models, {args.latency:.2f} s each")
    print(f"  plain CPython              : {plain:6.3f} s")
    print(f"  @xcs.jit, first call       : {first:6.3f} s   ({plain / first:.1f}x faster; "
          "its first iteration runs alone while XCS measures that it blocks)")
    print(f"  @xcs.jit, every later call : {later:6.3f} s   ({plain / later:.1f}x faster)")
    print(f"  same results               : {same}")
    for report in xcs.explain(fast):
        print(f"  {report}")
    return 0 if same else 1
