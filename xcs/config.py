"""Process-wide settings: worker count, in-flight window, and the `XCS_DISABLE` switch.

Read once from the environment at import, changed with `xcs.configure()`. Every layer
reads these through `settings()`, so tests can change them in one place.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace

DEFAULT_MAX_WORKERS = 64


@dataclass(frozen=True)
class Settings:
    """What XCS does globally. `max_workers` bounds the threads of one parallel loop."""

    disabled: bool
    max_workers: int


def _from_environment() -> Settings:
    disabled = os.environ.get("XCS_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    workers = os.environ.get("XCS_MAX_WORKERS", "").strip()
    return Settings(disabled=disabled, max_workers=int(workers) if workers.isdigit() and int(workers) > 0 else DEFAULT_MAX_WORKERS)


_lock = threading.Lock()
_settings = _from_environment()


def settings() -> Settings:
    """The settings in force now."""
    return _settings


def configure(*, max_workers: int | None = None) -> Settings:
    """Change process-wide settings; returns the new settings. `max_workers` must be ≥ 1."""
    global _settings
    with _lock:
        if max_workers is not None:
            if not isinstance(max_workers, int) or max_workers < 1:
                raise ValueError(f"max_workers must be a positive int, got {max_workers!r}")
            _settings = replace(_settings, max_workers=max_workers)
        return _settings


def is_disabled() -> bool:
    """True when `XCS_DISABLE` is set: every XCS entry point then returns the user's code untouched."""
    return _settings.disabled
