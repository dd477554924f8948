"""A CPU-bound pure-Python loop: no blocking call anywhere, so XCS must leave it at plain speed."""
from __future__ import annotations

import contextlib

from benchmarks.workloads import Workload

WORK = 20_000


def crunch(x, work):
    total = 0
    for i in range(work):
        total += (i * x) % 7
    return total


def loop(xs, work):
    out = []
    for x in xs:
        out.append(crunch(x, work))
    return out


WORKLOAD = Workload(
    name="cpu-bound", title=f"pure-Python arithmetic ({WORK:,} steps per item)", kind="cpu",
    loop=loop, one=crunch,
    items=lambda n, work: list(range(n)),
    environment=lambda options: contextlib.nullcontext(WORK),
    sizes=(1, 8, 32, 128), quick_sizes=(1, 8, 32),
)
