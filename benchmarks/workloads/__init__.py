"""The workloads the harness measures, one module each, in the order the report shows them.

Each module defines `WORKLOAD`, a `Workload`: the plain loop a user writes (`loop`), one
iteration's work for the hand-written contenders (`one`), the items for a size, and the
environment the loop needs (a server, a client, a directory of files), started and stopped
by the harness around the workload.
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Callable

MODULES = ("sleep", "http_urllib", "http_urllib_append_in_with", "http_requests", "http_session", "llm_openai", "subprocesses", "small_files",
           "cpu_loop", "numeric")


@dataclass(frozen=True)
class Options:
    """What the environments need to know: the latency of one blocking call, in seconds."""
    latency: float


@dataclass(frozen=True)
class Workload:
    """One workload. `kind` is "io" (blocking calls: the speedup targets apply) or "cpu"
    (XCS must leave it alone: within 1.05× of plain).

    `loop(items, env) -> list` is the plain loop as a user writes it; `one(item, env)` is one
    iteration's value, for the pool and joblib; `gather(items, env, slots)` is the asyncio
    version (`None`: `asyncio.to_thread(one, ...)`); `environment(options)` is a context
    manager yielding `env`; `requires` names optional packages (missing: the workload is
    reported as not run, with the reason); `extra` maps more contender names to
    `factory(env) -> run(items)` (numba)."""
    name: str
    title: str
    kind: str
    loop: Callable
    one: Callable
    items: Callable
    environment: Callable = field(default=lambda options: contextlib.nullcontext(None))
    gather: Callable | None = None
    requires: tuple = ()
    sizes: tuple = (1, 3, 8, 32, 128, 512)
    quick_sizes: tuple = (1, 8, 32)
    extra: dict = field(default_factory=dict)

    def missing(self) -> list:
        """The optional packages this workload needs that are not installed."""
        out = []
        for name in self.requires:
            try:
                importlib.import_module(name)
            except ImportError:
                out.append(name)
        return out


def all_workloads() -> list:
    """Every workload, in report order (importing each module; optional packages are only
    imported when a workload runs)."""
    return [importlib.import_module(f"benchmarks.workloads.{name}").WORKLOAD for name in MODULES]
