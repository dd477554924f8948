"""Process-wide settings: worker count, executor, in-flight window, and the `XCS_DISABLE` switch.

Read once from the environment at import, changed with `xcs.configure()`. Every layer
reads these through `settings()`, so tests can change them in one place.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, replace

DEFAULT_MAX_WORKERS = 64


@dataclass(frozen=True)
class Settings:
    """What XCS does globally. `max_workers` bounds the threads of one parallel loop."""

    disabled: bool
    max_workers: int
    # Where map parts run: "threads", "processes", a `dask.distributed.Client` or any
    # `concurrent.futures.Executor` (see `check_executor`, docs/executors.md).
    executor: object = "threads"


def _from_environment() -> Settings:
    disabled = os.environ.get("XCS_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    workers = os.environ.get("XCS_MAX_WORKERS", "").strip()
    executor = os.environ.get("XCS_EXECUTOR", "").strip().lower()
    return Settings(disabled=disabled, max_workers=int(workers) if workers.isdigit() and int(workers) > 0 else DEFAULT_MAX_WORKERS,
                    executor=executor if executor in EXECUTOR_NAMES else "threads")


EXECUTOR_NAMES = ("threads", "processes")


def check_executor(executor):
    """`executor` itself when it names where map parts can run; raises otherwise.

    Accepted: "threads" (XCS's thread pool), "processes" (XCS's pool of processes on this
    machine), a `dask.distributed.Client`, or any `concurrent.futures.Executor`. Raises
    ValueError for another string, TypeError for another object."""
    if isinstance(executor, str):
        if executor not in EXECUTOR_NAMES:
            raise ValueError(f"executor must be 'threads', 'processes', a dask.distributed.Client or a "
                             f"concurrent.futures.Executor, not {executor!r}")
        return executor
    from concurrent.futures import Executor

    if isinstance(executor, Executor) or is_dask_client(executor):
        return executor
    raise TypeError(f"executor must be 'threads', 'processes', a dask.distributed.Client or a "
                    f"concurrent.futures.Executor, not {type(executor).__name__}")


def is_dask_client(value) -> bool:
    """True for a `dask.distributed.Client` (without importing Dask when it is not loaded)."""
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(value, distributed.Client)


_lock = threading.Lock()
_settings = _from_environment()


def settings() -> Settings:
    """The settings in force now."""
    return _settings


def configure(*, max_workers: int | None = None, executor=None) -> Settings:
    """Change process-wide settings; returns the new settings. `max_workers` must be ≥ 1;
    `executor` is checked by `check_executor`."""
    global _settings
    if executor is not None:
        check_executor(executor)    # both checked before either changes
    with _lock:
        if max_workers is not None:
            if not isinstance(max_workers, int) or max_workers < 1:
                raise ValueError(f"max_workers must be a positive int, got {max_workers!r}")
        if executor is not None:
            _settings = replace(_settings, executor=executor)
        if max_workers is not None:
            _settings = replace(_settings, max_workers=max_workers)
        return _settings


def is_disabled() -> bool:
    """True when `XCS_DISABLE` is set: every XCS entry point then returns the user's code untouched."""
    return _settings.disabled
