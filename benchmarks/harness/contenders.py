"""The ways of running one workload that the harness compares, all with the same concurrency.

- `plain`: the loop as written, plain CPython.
- `xcs.jit`: the same loop function under `@xcs.jit` (the decorated function is made once per
  workload; timed calls are later calls).
- `xcs.enable`: the same, undecorated loop function with auto-mode on around each timed call.
  Auto-mode gives a function object its parallel code at its first call after `enable()`, and
  that call runs as written; so each timed call is preceded, untimed, by a one-item call.
- `ThreadPoolExecutor`: `pool.map(one, items)` in a `with ThreadPoolExecutor(workers)` block,
  as people write it by hand today.
- `asyncio.gather`: the workload's async version where it has one (an async client,
  `asyncio.sleep`, asyncio subprocesses), else `asyncio.to_thread(one, item)`; at most
  `workers` in flight (a semaphore; the default executor has `workers` threads), under
  `asyncio.run`.
- `joblib`: `Parallel(n_jobs=workers, prefer="threads")` (needs joblib).
- and each workload's own extra contenders (numba's `prange`).
"""
from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import xcs

HARNESS = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class Runner:
    """One contender ready for one workload: `run(items)` returns the loop's list; `around(items)`
    is entered (untimed) around each timed call."""
    run: Callable
    around: Callable = lambda items: contextlib.nullcontext()
    explain: Callable = lambda: []    # what `xcs.explain` says about the loop, as lines


def plain(workload, env, workers) -> Runner:
    return Runner(lambda items: workload.loop(items, env))


def jit(workload, env, workers) -> Runner:
    fast = xcs.jit(max_workers=workers)(workload.loop)
    return Runner(lambda items: fast(items, env), explain=lambda: [str(r) for r in xcs.explain(fast)])


def auto(workload, env, workers) -> Runner:
    @contextlib.contextmanager
    def enabled(items):
        with xcs.enabled(exclude=[HARNESS]):
            workload.loop(items[:1], env)
            yield

    return Runner(lambda items: workload.loop(items, env), enabled)


def thread_pool(workload, env, workers) -> Runner:
    def run(items):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda item: workload.one(item, env), items))

    return Runner(run)


def asyncio_gather(workload, env, workers) -> Runner:
    async def to_threads(items, env, slots):
        async def one(item):
            async with slots:
                return await asyncio.to_thread(workload.one, item, env)

        return await asyncio.gather(*(one(item) for item in items))

    gather = workload.gather or to_threads

    async def main(items):
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=workers))
        return list(await gather(items, env, asyncio.Semaphore(workers)))

    return Runner(lambda items: asyncio.run(main(items)))


def joblib_threads(workload, env, workers) -> Runner:
    from joblib import Parallel, delayed

    return Runner(lambda items: list(Parallel(n_jobs=workers, prefer="threads")(
        delayed(workload.one)(item, env) for item in items)))


def _joblib_missing() -> str | None:
    try:
        import joblib  # noqa: F401
    except ImportError:
        return "joblib is not installed (pip install -e '.[bench]')"
    return None


def _hook_missing() -> str | None:
    from xcs import native

    return None if native.hook_or_none() is not None else native._load()[1]


@dataclass(frozen=True)
class Contender:
    name: str
    start: Callable          # start(workload, env, workers) -> Runner
    missing: Callable = lambda: None   # why it cannot run here, or None


CONTENDERS = (
    Contender("plain", plain),
    Contender("xcs.jit", jit),
    Contender("xcs.enable", auto, _hook_missing),
    Contender("ThreadPoolExecutor", thread_pool),
    Contender("asyncio.gather", asyncio_gather),
    Contender("joblib", joblib_threads, _joblib_missing),
)


def contenders_for(workload) -> list:
    """The standard contenders, then the workload's own (`workload.extra`)."""
    extra = [Contender(name, lambda w, env, workers, make=make: Runner(make(env))) for name, make in workload.extra.items()]
    return [*CONTENDERS, *extra]
