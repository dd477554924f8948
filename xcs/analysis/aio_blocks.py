"""`async with` blocks in a coroutine's loop: which may run in an iteration's task.

Entering an async context manager awaits its `__aenter__`, and leaving it its `__aexit__`;
between them other tasks run. A manager that only concerns the iteration — the response of a
known async client (`async with client.stream("GET", u) as r`, aiohttp's
`async with session.get(u) as r`), a client of its own (`async with httpx.AsyncClient() as c`),
a deadline (`async with asyncio.timeout(5)`) — may be entered and left in the iteration's task:
its block then belongs to the map part when the block itself only reads the iteration's data
and assigns locals (the ordinary classification of the statement decides that). Any other
async manager may guard something shared across its awaits (a lock, a semaphore, a pool's
slot, a transaction), so its statement stays in order: unknown means ordered.

The manager is known by the callable that built it (`made_by` of the "enter" event), resolved
as the analysis resolves callees (guarded), or, for a client bound by an `async with` of the
function itself (`async with httpx.AsyncClient() as client:` around the loop), by that
client's class.
"""
from __future__ import annotations

from bytecode import Instr

from xcs import pyversion
from xcs.analysis.names import qualified_name
from xcs.analysis.memo import per_function
from xcs.analysis.refusal import Refusal
from xcs.analysis.stack import simulate

# Callables whose result is an async context manager of the iteration's own: a response (its
# connection goes back to the client's pool, which is made for concurrent requests), a new
# client, a deadline. Qualified names as CPython spells them.
RESPONSES = frozenset({
    "httpx._client.AsyncClient.stream",
    *(f"aiohttp.client.ClientSession.{m}" for m in ("get", "post", "put", "patch", "delete", "head", "options",
                                                     "request", "ws_connect")),
})
CLIENTS = frozenset({"httpx.AsyncClient", "httpx._client.AsyncClient", "aiohttp.ClientSession",
                     "aiohttp.client.ClientSession"})
# A deadline is measured from the call that makes it (`asyncio.timeout(5)` reads the loop's
# clock): its manager expression is never moved away from the `async with` that enters it.
DEADLINES = frozenset({"asyncio.timeouts.timeout", "asyncio.timeouts.timeout_at"})
KNOWN = RESPONSES | CLIENTS | DEADLINES

# What an `await` of `__aenter__` leaves between BEFORE_ASYNC_WITH and the store of `as v`.
_AWAIT_TAIL = pyversion.AWAIT_STEPS | {"LOAD_CONST", "RESUME", "JUMP_BACKWARD_NO_INTERRUPT", "NOP", "CACHE"}


def is_async_enter(desc, res, e) -> bool:
    """True when the "enter" event `e` is an `async with`'s."""
    item = desc.items[e.index]
    return isinstance(item, Instr) and item.name == "BEFORE_ASYNC_WITH"


def enter_reason(desc, res, e, line) -> Refusal | None:
    """A refusal for an `async with` whose manager is not known to be the iteration's own
    (see the module docstring); None for a known one and for a plain `with`."""
    if not is_async_enter(desc, res, e):
        return None
    name = manager_name(desc, res, e)
    if name in KNOWN:
        return None
    made_by = e.args[0] if e.args else None
    described = (made_by or e.target).describe()
    return Refusal("commit:async-with", line, described + ("(...)" if made_by is not None else ""))


def manager_name(desc, res, e) -> str:
    """The qualified name of the callable that built the manager of "enter" event `e`, or ''."""
    made_by = e.args[0] if e.args else None
    if made_by is None:
        return ""
    obj = res.resolve(made_by)
    if obj is None and made_by.kind in ("global", "deref") and not made_by.chain:
        obj = res.resolve_root(made_by)
    if obj is None and made_by.kind == "local" and len(made_by.chain) == 1:
        cls = entered_clients(desc, res).get(made_by.name)
        if cls is not None:
            return _name(getattr(cls, made_by.chain[0], None))
    if obj is None and made_by.kind == "local" and len(made_by.chain) == 1 and \
            made_by.name not in desc.env.arguments and not desc.is_body_local(made_by.name):
        # No call's arguments to resolve `client` through (auto-mode decides before the call
        # binds them): expect the known client's method, as a guard the loop start checks —
        # another object there keeps the loop in order.
        expected = _expected_method(made_by.chain[0])
        if expected is not None:
            res._guards[("local", made_by.name, made_by.chain)] = expected
            return _name(expected)
    obj = getattr(obj, "__func__", obj)   # a bound method: its function
    return _name(obj)


def _expected_method(method: str):
    """The known client's function a method name most likely names (`stream`: httpx's
    `AsyncClient.stream`; `get`, `post`, ...: aiohttp's `ClientSession`), from a library
    already imported; None otherwise."""
    import sys

    for module, cls in (("httpx", "AsyncClient"), ("aiohttp", "ClientSession")):
        owner = getattr(sys.modules.get(module), cls, None)
        func = vars(owner).get(method) if isinstance(owner, type) else None
        if func is not None and _name(func) in RESPONSES:
            return func
    return None


def entered_clients(desc, res) -> dict:
    """Locals the function binds once, by an `async with` of a known client class
    (`async with httpx.AsyncClient() as client:`): name -> the class (guarded)."""
    found, guards = per_function(desc.shared, "aio_entered_clients", lambda: _find_entered_clients(desc, res))
    res._guards.update(guards)
    return found


def _find_entered_clients(desc, res) -> tuple[dict, dict]:
    items = desc.items
    try:
        from xcs.analysis import effects

        events = simulate(items, 0, len(items), 0, effects.handler_depths(items))
    except Exception:  # noqa: BLE001 - not understood: nothing inferred
        return {}, {}
    counts = desc.assignment_counts
    found, guards = {}, {}
    for e in events:
        if e.op != "enter" or not is_async_enter(desc, res, e) or not e.args:
            continue
        made_by = e.args[0]
        if made_by.kind not in ("global", "deref"):
            continue
        try:
            cls = desc.env.lookup(made_by.kind, made_by.name, made_by.chain)
        except Exception:  # noqa: BLE001
            continue
        if not isinstance(cls, type) or _name(cls) not in CLIENTS:
            continue
        target = _bound_name(items, e.index + 1)
        if target is not None and counts.get(target) == 1:
            found[target] = cls
            guards[(made_by.kind, made_by.name, made_by.chain)] = cls
    return found, guards


def _bound_name(items, start: int) -> str | None:
    """The local an `async with ... as v` stores its `__aenter__`'s result in, read after
    the await that follows BEFORE_ASYNC_WITH; None without a plain local target."""
    for item in items[start:]:
        if not isinstance(item, Instr):
            continue
        if item.name in _AWAIT_TAIL:
            continue
        return item.arg if item.name == "STORE_FAST" else None
    return None


def _name(obj) -> str:
    try:
        return qualified_name(obj)
    except Exception:  # noqa: BLE001
        return ""

