"""The one import site of the `xcs._hook` C extension (`csrc/hook.c`, stub `xcs/_hook.pyi`).

The extension is optional: `@xcs.jit` never needs it; auto-mode needs it for the PEP 523
mechanism (3.11, or `xcs.enable(mechanism="frame")`) and, on 3.12+, for reading a frame's
function object in the `sys.monitoring` mechanism. A build whose `API_VERSION` differs from
the one this Python code was written against is treated as missing, with the reason.
"""
from __future__ import annotations

import functools

API_VERSION = 2


@functools.lru_cache(maxsize=1)
def _load():
    """(module or None, why it is missing or "")."""
    try:
        from xcs import _hook
    except ImportError as error:
        return None, (f"the xcs._hook C extension is not built for this interpreter ({error}); reinstall XCS "
                      "(`pip install -e .`) on CPython 3.11-3.13. @xcs.jit works without it.")
    found = getattr(_hook, "API_VERSION", None)
    if found != API_VERSION:
        return None, (f"xcs._hook is an old build (API version {found}, this XCS needs {API_VERSION}); rebuild it "
                      "(`pip install -e .`). @xcs.jit works without it.")
    return _hook, ""


def hook():
    """The extension module; raises RuntimeError saying why when it is missing or stale."""
    module, why = _load()
    if module is None:
        raise RuntimeError(why)
    return module


def hook_or_none():
    """The extension module, or None when it is missing or stale."""
    return _load()[0]


def forget() -> None:
    """Load again on the next call (tests that hide the extension)."""
    _load.cache_clear()
