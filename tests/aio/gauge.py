"""The awaited call the async contract tests make, instrumented to prove overlap.

`wait(x)` suspends on `asyncio.sleep` (a real wait), counts how many calls are in flight at
once and records which calls started, finished and were cleaned up (its `finally`). Its
counters are shared state, so it is marked with `xcs.io`: the user vouches for it, as for
`tests.corpus.probe.io`.
"""
from __future__ import annotations

import asyncio
import contextlib

import xcs

state = {"active": 0, "peak": 0, "started": [], "finished": [], "cleaned": []}


def reset() -> None:
    state.update(active=0, peak=0, started=[], finished=[], cleaned=[])


@xcs.io
async def wait(x, delay=0.02, fail=()):
    """Suspend for `delay` seconds and return x; raise ValueError(x) if x is in `fail`."""
    state["active"] += 1
    state["peak"] = max(state["peak"], state["active"])
    state["started"].append(x)
    try:
        await asyncio.sleep(delay)
        if x in fail:
            raise ValueError(x)
        state["finished"].append(x)
        return x
    finally:
        state["active"] -= 1
        state["cleaned"].append(x)


@contextlib.contextmanager
def measuring():
    """Reset the gauge; yields `state` (read `state["peak"]` after the block)."""
    reset()
    yield state


def other_tasks() -> set:
    """Tasks of the running loop besides the current one."""
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
