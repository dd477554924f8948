"""A real-world loop timed many times, plain and `@xcs.jit` alternating: the best of each.

    python -m benchmarks.realworld_best_of git_repo_stats [--runs 15] [--latency 0.05] [--items 16]

`python -m tests.realworld.table` times one run of each loop; for a loop whose calls are
short (git_repo_stats: nine `git log` processes of a few milliseconds) one run on a shared
2-core machine says more about the neighbours than about XCS. This takes the fastest of
`runs` alternating runs of each, in one process (the jitted function decided before timing).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import xcs
from tests.realworld import loops, servers
from tests.realworld.observe import observe


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--items", type=int, default=16)
    options = parser.parse_args(argv)
    (loop,) = [lp for lp in loops.LOOPS if lp.name == options.name]
    with servers.running_server(options.latency) as base, tempfile.TemporaryDirectory() as tmp:
        env = loops.Env(base, options.items, options.latency)
        jitted = xcs.jit(loop.fn)
        observe(loop, env, jitted, Path(tmp) / "run")      # decides
        plain, fast = [], []
        for _ in range(options.runs):
            plain.append(observe(loop, env, loop.fn, Path(tmp) / "run")["seconds"])
            fast.append(observe(loop, env, jitted, Path(tmp) / "run")["seconds"])
    print(f"{loop.name}: plain best {min(plain) * 1e3:.1f} ms, @xcs.jit best {min(fast) * 1e3:.1f} ms, "
          f"speedup {min(plain) / min(fast):.2f}x ({options.runs} runs each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
