"""XCS's runtime cost per iteration: 10,000 trivially blocking iterations.

Each iteration calls `touch(x)`, declared blocking with `@xcs.io` so XCS runs the loop in
parallel, but which returns at once: whatever the parallel loop takes beyond the plain one
is XCS's own per-iteration work (handing the item to a worker, the future, the in-order
commit on the calling thread, the GIL hand-offs). Reported as (xcs − plain) / N in µs, next
to the same figure for a hand-written `ThreadPoolExecutor.map` (target ≤ 15 µs). (A call
that really sleeps, even `time.sleep(0)`, would overlap across threads and hide the cost.)
"""
from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import xcs

ITERATIONS = 10_000


@xcs.io
def touch(x):
    return x


def trivially_blocking(xs):
    out = []
    for x in xs:
        out.append(touch(x))
    return out


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def per_iteration_overhead(repeat: int, workers: int, iterations: int = ITERATIONS) -> dict:
    """Median seconds of plain, `@xcs.jit` and pool over `repeat` interleaved runs, and the
    per-iteration overhead in µs of XCS and of the pool over plain."""
    xs = list(range(iterations))
    fast = xcs.jit(max_workers=workers)(trivially_blocking)
    if fast(xs[:64]) != xs[:64]:
        raise AssertionError("xcs.jit changed the result of the overhead loop")
    if not any(": parallel" in str(r) for r in xcs.explain(fast)):
        raise AssertionError(f"the overhead loop did not run in parallel: {xcs.explain(fast)}")

    def by_hand():
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(touch, xs))

    runs = {"plain": [], "xcs.jit": [], "ThreadPoolExecutor": []}
    calls = {"plain": lambda: trivially_blocking(xs), "xcs.jit": lambda: fast(xs), "ThreadPoolExecutor": by_hand}
    for _ in range(repeat):
        for name, call in calls.items():
            runs[name].append(_seconds(call))
    median = {name: statistics.median(times) for name, times in runs.items()}
    return {
        "iterations": iterations, "median": median,
        "xcs_us": (median["xcs.jit"] - median["plain"]) / iterations * 1e6,
        "pool_us": (median["ThreadPoolExecutor"] - median["plain"]) / iterations * 1e6,
        "parallel": [str(r) for r in xcs.explain(fast)],
    }
