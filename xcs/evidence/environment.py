"""What the names in a function refer to, for the analysis: its globals, builtins, closure
cells, a call's arguments, and the evidence registry's verdicts (through injected checks, so
the analysis does not know the evidence layer)."""
from __future__ import annotations

import types

from xcs.analysis import Environment, handoffs
from xcs.pyversion import CO_COROUTINE


def environment(func, arguments: dict | None = None) -> Environment:
    """What the names in `func` refer to, for the analysis; `arguments` are a call's
    arguments by parameter name (methods of `self` resolve through them)."""
    code = func.__code__
    closure = dict(zip(code.co_freevars, func.__closure__ or ()))
    builtins_ = func.__globals__.get("__builtins__")
    trusted = _registry_check("is_blocking")
    if code.co_flags & CO_COROUTINE:
        trusted = handoffs.coroutine_trusted(trusted)   # `asyncio.get_running_loop()`: the tasks' own loop
    env = Environment(globals=func.__globals__, closure=closure, extra_ordered=_registry_check("is_ordered"),
                      trusted=trusted, arguments=dict(arguments or {}))
    if isinstance(builtins_, dict):
        env.builtins = builtins_
    elif isinstance(builtins_, types.ModuleType):
        env.builtins = vars(builtins_)
    return env


def _registry_check(name: str):
    """The evidence registry's `is_ordered` / `is_blocking`: the user's `xcs.io` and
    registrations reach the analysis without it knowing the evidence layer."""
    try:
        from xcs.evidence import registry
    except ImportError:
        return None
    check = getattr(registry, name, None)
    return check if callable(check) else None
