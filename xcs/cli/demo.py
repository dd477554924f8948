"""`python -m xcs demo`: the seed example, run plainly and with `@xcs.jit`, side by side.

An ensemble of simulated models, each answering after a network-like delay (`time.sleep`),
is queried in a plain `for` loop. The demo times the plain function and the jitted one,
checks that both return exactly the same list, and prints what `xcs.explain` says.
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
    start = time.perf_counter()
    got = fast(models, prompt)
    parallel = time.perf_counter() - start

    print(f"{args.models} models, {args.latency:.2f} s each")
    print(f"  plain CPython : {plain:6.3f} s")
    print(f"  @xcs.jit      : {parallel:6.3f} s   ({plain / parallel:.1f}x faster)")
    print(f"  same results  : {got == expected}")
    for report in xcs.explain(fast):
        print(f"  {report}")
    return 0 if got == expected else 1
