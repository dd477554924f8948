"""Functions handed to a thread by a coroutine: `asyncio.to_thread(f, x)` and
`loop.run_in_executor(executor, f, x)` (with the loop from `asyncio.get_running_loop()`).

The call runs `f` on a thread, so its effects are `f`'s: `f` is scanned like a callee, and a
function the analysis cannot name (a body-local `partial`, a parameter nobody binds) keeps
the statement in order. This holds for such calls in the loop body and in the Python
functions it calls (an `async def` helper wrapping `run_in_executor`), down to
`effects.SCAN_DEPTH` levels: the effects walker sees the call to the hand-off but not the
function it is handed (`loop` is a local of the helper, `to_thread` passes `f` on inside a
`functools.partial`), so this module looks for hand-offs on its own.

`asyncio.get_running_loop()` answers for the running event loop. An iteration's task runs
on the caller's event loop and thread, so for a coroutine's loop the call is known
(`coroutine_trusted`); a thread's loop keeps it unknown (a worker thread has no running loop).
"""
from __future__ import annotations

import functools
import types

from xcs.analysis import effects
from xcs.analysis.memo import per_function
from xcs.pyversion import CO_COROUTINE
from xcs.analysis.refusal import Refusal
from xcs.sourcepaths import is_library_file

# Where the handed function is among the positional arguments.
_BY_METHOD = {"run_in_executor": 1}
_BY_NAME = {"asyncio.threads.to_thread": 0, "asyncio.to_thread": 0}


def coroutine_trusted(trusted):
    """`trusted` (an `Environment.trusted` check, or None), also true for
    `asyncio.get_running_loop`: for the analysis of a coroutine's loops (see module doc)."""
    import asyncio

    known = {id(asyncio.get_running_loop), id(asyncio.events.get_running_loop)}

    def check(obj):
        if id(obj) in known:
            return True
        return trusted is not None and bool(trusted(obj))
    return check


def call_reason(desc, res, e) -> Refusal | None:
    """A refusal when call event `e` of the loop body hands a function to a thread (itself, or
    inside the Python function it calls) whose effects must stay in order, or that cannot be
    named; None otherwise (the rest of the classification goes on)."""
    line = desc.items[e.index].lineno
    callee = e.target
    if callee is None:
        return None
    obj = res.resolve(callee)
    if obj is None and callee.kind in ("global", "deref") and not callee.chain:
        obj = res.resolve_root(callee)
    index = _handed_index(callee, obj)
    if index is not None:
        found = _handed_effects(e, index, _with_partials(desc, res, e), desc.env, res.env_for)
        if found:
            return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
        return None
    # Callees are looked into for a coroutine's loop only: a thread's loop runs them on a
    # worker, which has no event loop to hand anything to.
    func = getattr(obj, "__func__", obj)
    if isinstance(func, types.FunctionType) and desc.code.co_flags & CO_COROUTINE:
        found = per_function(desc.shared, ("handoffs", func), lambda: scan(func, res.env_for))
        if found:
            return Refusal("commit:ordered-callee", line, f"{callee.describe()}: {found}")
    return None


def scan(func, env_for, depth: int = effects.SCAN_DEPTH, seen: set | None = None, bound: dict | None = None):
    """The first hand-off inside `func` (and the Python functions it calls, `depth` levels) whose
    handed function has ordered effects or cannot be named, described; None otherwise. `bound`:
    parameter name -> the object the caller passes, where known. Library code is not entered
    (its hand-offs are its own: `asyncio.to_thread` hands a partial of its caller's function)."""
    from xcs.analysis.normalize import normalize
    from xcs.analysis.stack import simulate

    seen = set() if seen is None else seen
    code = getattr(func, "__code__", None)
    if code is None or code in seen or depth <= 0 or is_library_file(code.co_filename):
        return None
    env = env_for(func)
    if env.is_trusted(func):
        return None
    seen.add(code)
    try:
        items = list(normalize(code))
        events = simulate(items, 0, len(items), 0, effects.handler_depths(items))
    except Exception:  # noqa: BLE001 - unreadable: the effects walker says so
        return None
    bound = bound or {}

    def resolve(value):
        if value.kind == "local" and not value.chain and value.name in bound:
            return bound[value.name]
        if value.kind in ("global", "deref"):
            try:
                return env.lookup(value.kind, value.name, value.chain)
            except Exception:  # noqa: BLE001
                return effects.UNKNOWN
        return effects.UNKNOWN

    for e in events:
        if e.op != "call" or e.target is None:
            continue
        where = f"{code.co_name} (line {getattr(items[e.index], 'lineno', '?')})"
        obj = resolve(e.target) if e.target.kind in ("global", "deref") or e.target.name in bound else None
        obj = None if obj is effects.UNKNOWN else obj
        index = _handed_index(e.target, obj)
        if index is not None:
            found = _handed_effects(e, index, resolve, env, env_for)
            if found:
                return f"{where}: {found}"
            continue
        inner = getattr(obj, "__func__", obj)
        if isinstance(inner, types.FunctionType):
            params = inner.__code__.co_varnames[:inner.__code__.co_argcount]
            passed = {p: resolve(a) for p, a in zip(params, e.args)}
            found = scan(inner, env_for, depth - 1, seen, passed)
            if found:
                return found
    return None


def _with_partials(desc, res, e):
    """`res.held`, also naming a `functools.partial(f, ...)` built in the statement of call
    event `e` (`run_in_executor(None, partial(fetch, url))`): as that partial of the object `f`
    names, its own arguments unknown — the handed function's effects are `f`'s."""
    events = next((evs for evs in desc.events if any(x is e for x in evs)), ())

    def resolve(value):
        if value.kind != "call":
            return res.held(value)
        later = [a.start for a in e.args if a.start > value.start]
        stop = min(later, default=e.index)   # the value's own instructions end where the next argument's begin
        made = [x for x in events if x.op == "call" and value.start <= x.index < stop and x.target is not None]
        if not made:
            return effects.UNKNOWN
        outer = max(made, key=lambda x: x.index)   # the call whose result the value is ends last
        if not outer.args or not _is_partial(res.resolve(outer.target)):
            return effects.UNKNOWN
        func = res.held(outer.args[0])
        return effects.UNKNOWN if func is effects.UNKNOWN else functools.partial(func)
    return resolve


def _is_partial(obj) -> bool:
    return obj is functools.partial


def _handed_index(callee, obj) -> int | None:
    """The position of the function a call hands to a thread, or None for other calls."""
    method = callee.chain[-1] if callee.chain else None
    if method in _BY_METHOD:
        return _BY_METHOD[method]
    if obj is not None:
        return _BY_NAME.get(effects.qualified_name_or_empty(obj))
    return None


def _handed_effects(e, index: int, resolve, env, env_for) -> str | None:
    """What the function at position `index` of call `e` does that must stay in order, or why
    it cannot be named; None for a function that only reads and waits. (A `functools.partial`
    built in the loop body is refused as a call XCS cannot read before it gets here.)"""
    if len(e.args) <= index:
        return None   # handed by keyword or by unpacking: the walker's own rules apply
    value = e.args[index]
    if value.kind == "fresh" and value.start >= 0:
        return None   # a `lambda` made in the statement: scanned as a made function
    func = resolve(value)
    if func is effects.UNKNOWN or func is None:
        return f"`{value.describe()}` runs on a thread, and XCS cannot see which function it is"
    return _function_effects(func, env, env_for)


def _function_effects(func, env, env_for, depth: int = 3) -> str | None:
    if isinstance(func, functools.partial) and depth > 0:
        return _function_effects(func.func, env, env_for, depth - 1)
    if isinstance(func, types.MethodType):
        func = func.__func__
    if isinstance(func, types.FunctionType):
        if env.is_trusted(func):
            return None
        return effects.ordered_effects_in(func, env_for)
    if callable(func) and not isinstance(func, type):
        return effects.opaque_call(func, env, True)
    if isinstance(func, type):
        return effects.class_construction(func, env)
    return f"`{func!r}` is not a function XCS can read"

