"""The blocking call the corpus loops make, instrumented to prove overlap.

`io(x)` sleeps briefly (a real blocking call), counts how many calls are in flight at once, and — when a test arms it with `expect_overlap(n)`
— waits on a `threading.Barrier(n)` that only releases once n calls are running together.
A loop that XCS ran sequentially cannot get past that barrier: it breaks after a timeout.

Its counters are shared state, so the analysis would rightly refuse loops calling it; it is
marked with `xcs.io`, as a user marks an instrumented blocking function they vouch for.
"""
from __future__ import annotations

import contextlib
import threading
import time

import xcs

_lock = threading.Lock()
_met = threading.Condition(_lock)
_state = {"active": 0, "peak": 0, "calls": 0, "barrier": None, "meet": None, "deadline": 0.0}


@xcs.io
def io(x, delay=0.002):
    """Block briefly and return x; records concurrency."""
    with _lock:
        _state["active"] += 1
        _state["calls"] += 1
        _state["peak"] = max(_state["peak"], _state["active"])
        barrier = _state["barrier"]
        meet = _state["meet"]
        if meet is not None:
            # Soft rendezvous: wait (until the deadline) for `meet` calls to have run at once.
            _met.notify_all()
            while _state["peak"] < meet and time.monotonic() < _state["deadline"]:
                _met.wait(0.05)
    try:
        if barrier is not None:
            barrier.wait()
        time.sleep(delay)
        return x
    finally:
        with _lock:
            _state["active"] -= 1


def fail_on(x, bad):
    """io(x), but raise ValueError for the item `bad` (after blocking like the others)."""
    io(x)
    if x == bad:
        raise ValueError(f"bad item {x!r}")
    return x


@contextlib.contextmanager
def measuring(overlap: int | None = None, timeout: float = 10.0, meet: int | None = None):
    """Reset the counters; with `overlap=n`, io() calls wait until n of them run at once
    (a barrier: every call waits for n-1 others); with `meet=n`, io() calls wait until n of
    them have run at once, once — or until `timeout` seconds from now, then not at all. A
    loop run in order cannot make the peak reach n (for loops whose number of calls is not a
    multiple of n, or that stop early, where a barrier would be left waiting)."""
    with _lock:
        _state.update(active=0, peak=0, calls=0,
                      barrier=threading.Barrier(overlap, timeout=timeout) if overlap else None,
                      meet=meet, deadline=time.monotonic() + timeout)
    try:
        yield _state
    finally:
        with _lock:
            _state["barrier"] = None
            _state["meet"] = None


def calls() -> int:
    """How many io() calls ran since the counters were last reset: a row returns it to prove
    the parallel run made exactly the calls of the plain one (no short-circuit lost)."""
    with _lock:
        return _state["calls"]
