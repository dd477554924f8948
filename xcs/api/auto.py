"""Auto-mode: `xcs.enable()` parallelizes the proven loops of every function, undecorated.

XCS is shown each code object once, with a function that runs it. This module decides,
from `co_filename`, whether the code is the user's (the standard library, installed packages
and XCS itself are skipped unless `include`d), compiles it like `@xcs.jit` does and hands
back the variant. Two mechanisms put the variant in place (docs/auto-mode.md):

- "monitoring" (default on CPython 3.12+, `xcs/api/monitoring.py`): `sys.monitoring`
  events; the function's `__code__` becomes the variant while auto-mode is on. Costs plain
  CPython's speed once each code object has been seen.
- "frame" (3.11, or `xcs.enable(mechanism="frame")`): the `xcs._hook` PEP 523 extension runs
  the variant in place of the function's frame; `__code__` never changes, but CPython stops
  inlining Python-to-Python calls while it is installed.

`disable()` turns the mechanism off, so everything runs as written again (swapped functions
get their `__code__` back); decisions stay cached for the next `enable()`.
`XCS_DISABLE=1` makes `enable()` do nothing.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
import weakref

from xcs import config, native
from xcs.api.monitoring import Monitoring, usable as monitoring_usable
from xcs.sourcepaths import is_library_file, is_xcs_file

SUSPENDS = 0x20 | 0x100 | 0x200   # generator, iterable coroutine, async generator (coroutines: xcs.runtime.aio)
MECHANISMS = ("monitoring", "frame")

_lock = threading.RLock()
_state = {"include": (), "exclude": (), "policy": "auto", "mechanism": None}
_monitoring = Monitoring()


def _hook():
    """The C extension, or raise RuntimeError saying why auto-mode cannot run here."""
    hook = native.hook()
    if not hasattr(hook, "install"):
        raise RuntimeError("xcs._hook is a build without the PEP 523 hook; rebuild it (`pip install -e .`)")
    return hook


def default_mechanism() -> str:
    """"monitoring" where `sys.monitoring` and the extension allow it (3.12+), else "frame"."""
    return "monitoring" if not monitoring_usable() else "frame"


def enable(include=(), exclude=(), parallel="auto", mechanism=None) -> None:
    """Turn auto-mode on for the whole interpreter (all threads, before and after).

    `include`: module names or path prefixes to analyse even though they are library code;
    `exclude`: module names or path prefixes never to touch. `mechanism`: "monitoring"
    (3.12+, the default there) or "frame" (the PEP 523 hook; the only one on 3.11); None
    picks the default. Enabling again replaces the options (switching mechanism turns the
    other one off); code already decided keeps its decision. Raises ValueError for an
    unknown mechanism, RuntimeError if the chosen one cannot run here (no C extension, no
    `sys.monitoring`, every tool id taken). Does nothing when XCS_DISABLE=1."""
    if mechanism is not None and mechanism not in MECHANISMS:
        raise ValueError(f"mechanism must be one of {MECHANISMS} or None, not {mechanism!r}")
    if config.is_disabled():
        warnings.warn("xcs.enable() does nothing: XCS is disabled by the XCS_DISABLE environment variable "
                      "(unset it, or set XCS_DISABLE=0, to enable auto-mode)", RuntimeWarning, stacklevel=2)
        return
    with _lock:
        chosen = mechanism or default_mechanism()
        if chosen == "monitoring":
            why = monitoring_usable()
            if why:
                raise RuntimeError(f"xcs.enable(mechanism='monitoring') cannot run here: {why}")
        else:
            hook = _hook()
        _state.update(include=tuple(_prefixes(include)), exclude=tuple(_prefixes(exclude)), policy=parallel)
        if _state["mechanism"] not in (None, chosen):
            _stop(_state["mechanism"])
        if chosen == "monitoring":
            _monitoring.start(_decide, _wanted_file)
        else:
            hook.install(_decide)
        _state["mechanism"] = chosen


def disable() -> None:
    """Turn auto-mode off: every function runs its original code again."""
    with _lock:
        for each in MECHANISMS:
            _stop(each)
        _state["mechanism"] = None


def _stop(mechanism: str) -> None:
    """Turn `mechanism` off (nothing happens if it is not on)."""
    if mechanism == "monitoring":
        _monitoring.stop()
        return
    hook = native.hook_or_none()
    if hook is not None and hasattr(hook, "uninstall"):
        hook.uninstall()


def is_enabled() -> bool:
    """True while auto-mode is on (either mechanism)."""
    return mechanism() is not None


def mechanism() -> str | None:
    """"monitoring", "frame" or None (auto-mode off)."""
    if _monitoring.active:
        return "monitoring"
    hook = native.hook_or_none()
    if hook is not None and getattr(hook, "installed", lambda: None)() == "callback":
        return "frame"
    return None


def swapped_functions() -> list:
    """Functions whose `__code__` is a variant right now (monitoring mechanism only)."""
    return _monitoring.swapped_functions()


@contextlib.contextmanager
def enabled(include=(), exclude=(), parallel="auto", mechanism=None):
    """`with xcs.enabled(): ...` — auto-mode for a region; the previous state comes back after."""
    was = _state["mechanism"] if is_enabled() else None
    previous = dict(_state)
    enable(include, exclude, parallel, mechanism)
    try:
        yield
    finally:
        if was:
            enable(previous["include"], previous["exclude"], previous["policy"], was)
        else:
            disable()


def _prefixes(items) -> list:
    out = []
    for item in items:
        item = os.fspath(item)
        out.append(os.path.realpath(item) if os.sep in item or os.path.exists(item) else item)
    return out


def _wanted_file(filename: str) -> bool:
    """The cheap first filter (no module name yet): False only for code `_wanted` refuses
    whatever its module, so the monitoring mechanism can drop it at once."""
    return _wanted_file_cached(filename, _state["include"], _state["exclude"])


@functools.lru_cache(maxsize=8192)
def _wanted_file_cached(filename: str, include: tuple, exclude: tuple) -> bool:
    real = os.path.realpath(filename) if not filename.startswith("<") else filename
    if any(real.startswith(p) for p in exclude if os.sep in p):
        return False
    if any(real.startswith(p) for p in include if os.sep in p):
        return True
    if any(os.sep not in p for p in include):
        return True   # included by module name: only the function's module can tell
    return not (is_library_file(filename) or is_xcs_file(filename))


def _wanted(code, module: str | None) -> bool:
    filename = code.co_filename
    names = (module or "",)
    real = os.path.realpath(filename) if not filename.startswith("<") else filename

    def matches(prefixes):
        return any(real.startswith(p) or any(n == p or n.startswith(p + ".") for n in names) for p in prefixes)

    if matches(_state["exclude"]):
        return False
    if matches(_state["include"]):
        return True
    return not (is_library_file(filename) or is_xcs_file(filename))


def _decide(function):
    """The hook's callback: the variant code for `function`, or None. Never raises."""
    try:
        code = function.__code__
        if code.co_flags & SUSPENDS or "<xcs loop" in code.co_qualname:   # XCS's own loop bodies
            return None
        if not _wanted(code, function.__globals__.get("__name__")):
            return None
        from xcs.api import compiler
        from xcs import pyversion

        if not pyversion.SUPPORTED or not compiler.has_loop(code):
            return None
        compiled = compiler.compile_function(function, _state["policy"], None)
        variant = compiled.variant
        if variant is None:
            return None
        # A weak reference: the compile cache is keyed weakly by this code object.
        compiled.listeners.append(lambda ref=weakref.ref(code): _give_up(ref()))
        return variant
    except Exception:  # noqa: BLE001 - auto-mode must never break the program
        return None


def _give_up(code) -> None:
    """Evidence says no loop of `code` is worth it: its calls run the original code again."""
    if code is None:
        return
    try:
        _monitoring.give_up(code)
        hook = native.hook_or_none()
        if hook is not None:
            hook.set_decision(code, None)
    except Exception:  # noqa: BLE001
        pass
