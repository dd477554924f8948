"""Auto-mode: `xcs.enable()` parallelizes the proven loops of every function, undecorated.

The `xcs._hook` C extension (PEP 523) shows XCS each code object once, with the function
about to run it. This module decides, from `co_filename`, whether the code is the user's
(the standard library, installed packages and XCS itself are skipped unless `include`d),
compiles it like `@xcs.jit` does and hands back the variant, which the hook then runs for
every call of that code, the first included. Functions keep their `__code__`: the variant
runs in place of their frame. `disable()` uninstalls the hook, so everything runs as
written again; the decisions stay cached in the code objects for the next `enable()`.
`XCS_DISABLE=1` makes `enable()` do nothing.
"""
from __future__ import annotations

import contextlib
import os
import threading
import warnings
import weakref

from xcs import config
from xcs.sourcepaths import is_library_file, is_xcs_file

SUSPENDS = 0x20 | 0x100 | 0x200   # generator, iterable coroutine, async generator (coroutines: xcs.runtime.aio)

_lock = threading.RLock()
_state = {"include": (), "exclude": (), "policy": "auto"}


def _hook():
    """The C extension, or raise RuntimeError saying why auto-mode cannot run here."""
    try:
        from xcs import _hook
    except ImportError as error:
        raise RuntimeError(
            "xcs.enable() needs the xcs._hook C extension, which is not built for this interpreter "
            f"({error}); reinstall XCS (`pip install -e .`) on CPython 3.11-3.13. @xcs.jit works without it.") from None
    if not hasattr(_hook, "install"):
        raise RuntimeError("xcs._hook is an old build without the PEP 523 hook; rebuild it (`pip install -e .`)")
    return _hook


def enable(include=(), exclude=(), parallel="auto") -> None:
    """Turn auto-mode on for the whole interpreter (all threads, before and after).

    `include`: module names or path prefixes to analyse even though they are library code;
    `exclude`: module names or path prefixes never to touch. Enabling again replaces the
    options; code already decided keeps its decision. Raises RuntimeError if the C extension
    is not available. Does nothing when XCS_DISABLE=1."""
    if config.is_disabled():
        warnings.warn("xcs.enable() does nothing: XCS is disabled by the XCS_DISABLE environment variable "
                      "(unset it, or set XCS_DISABLE=0, to enable auto-mode)", RuntimeWarning, stacklevel=2)
        return
    hook = _hook()
    with _lock:
        _state.update(include=tuple(_prefixes(include)), exclude=tuple(_prefixes(exclude)), policy=parallel)
        hook.install(_decide)


def disable() -> None:
    """Turn auto-mode off: uninstall the hook, so every function runs its original code."""
    try:
        from xcs import _hook as hook
    except ImportError:
        return
    with _lock:
        if hasattr(hook, "uninstall"):
            hook.uninstall()


def is_enabled() -> bool:
    """True while the auto-mode hook is installed."""
    try:
        from xcs import _hook as hook
    except ImportError:
        return False
    return getattr(hook, "installed", lambda: None)() == "callback"


@contextlib.contextmanager
def enabled(include=(), exclude=(), parallel="auto"):
    """`with xcs.enabled(): ...` — auto-mode for a region; the previous state comes back after."""
    was = is_enabled()
    previous = dict(_state)
    enable(include, exclude, parallel)
    try:
        yield
    finally:
        if was:
            enable(previous["include"], previous["exclude"], previous["policy"])
        else:
            disable()


def _prefixes(items) -> list:
    out = []
    for item in items:
        item = os.fspath(item)
        out.append(os.path.realpath(item) if os.sep in item or os.path.exists(item) else item)
    return out


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
        from xcs import _hook as hook

        hook.set_decision(code, None)
    except Exception:  # noqa: BLE001
        pass
