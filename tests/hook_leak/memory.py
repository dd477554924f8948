"""Measure whether a repeated action keeps memory: Python allocations and process RSS.

`growth(action, n)` warms up, then runs `action(i)` `n` times and returns how much memory
stayed allocated afterwards (after a full collection). Used by the leak tests, which also
run it on a deliberately leaking action to show the measurement catches a leak.
"""
from __future__ import annotations

import gc
import os
import tracemalloc
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process (Linux `/proc/self/statm`)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


@dataclass(frozen=True)
class Growth:
    """Memory left behind by `calls` runs of an action: traced Python allocations and RSS."""
    calls: int
    traced_bytes: int
    rss_bytes: int

    def per_call(self) -> float:
        return self.traced_bytes / self.calls


def growth(action, calls: int, warmup: int = 2000) -> Growth:
    """Run `action(i)` `warmup` times untraced, then `calls` times; return what stayed.

    RSS is read around an untraced run (tracemalloc's own bookkeeping would grow it), then
    Python allocations around a second, traced run of the same length."""
    for i in range(warmup):
        action(i)
    gc.collect()
    rss_before = rss_bytes()
    for i in range(warmup, warmup + calls):
        action(i)
    gc.collect()
    rss_after = rss_bytes()
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(warmup + calls, warmup + 2 * calls):
            action(i)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return Growth(calls, after - before, rss_after - rss_before)
