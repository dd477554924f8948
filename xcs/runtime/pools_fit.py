"""Fit a parallel loop to the HTTP clients it uses, for the loop's duration.

`fitted(body, args, concurrency)` looks for the clients a loop body reaches — among its
inputs, the globals its code names, and one attribute deep into those (`self.session`) —
and, while the loop runs:

- `requests.Session` / `urllib3.PoolManager`: a pool of 10 connections per host (the
  default) with more workers than that makes urllib3 discard the extra connections with a
  "Connection pool is full, discarding connection" warning the plain loop never prints, and
  reconnect. XCS raises the pool size of the session's adapters (and of its pools already
  open) to the loop's concurrency, which keeps the output identical and the throughput
  highest (every worker reuses a connection). Afterwards the sizes are put back and the
  connections above the old size are closed, so later plain use of the session behaves as
  before the loop (no warning then either).
- `httpx.Client` (and the `openai`/`anthropic` clients built on it): more workers than
  `Limits.max_connections` would only wait inside httpx for a connection, so the loop's
  concurrency is capped there; a keep-alive limit below the concurrency is raised for the
  loop's duration (connections are reused instead of closed and reopened), then restored.
- On both, a response hook reports overload responses (429/503, `Retry-After`) to the
  loop's limiter (`xcs.runtime.signals`); it is removed after the loop.
- Loops that share a client at once (two threads, a loop nested in another's body) share
  the raise: it goes to the sum of their concurrencies, and the sizes are put back only when
  the last of them ends (reference-counted per adapter, pool manager and httpx pool).

What was done is returned as words for `xcs.explain` (`Fit.notes`). Nothing is imported:
a library the program did not import cannot have made the objects.
"""
from __future__ import annotations

import logging
import sys
import threading
import types
from contextlib import contextmanager
from dataclasses import dataclass, field

from xcs.runtime import signals

log = logging.getLogger("xcs")


@dataclass
class Fit:
    """The loop's concurrency after fitting, and what was changed (in words)."""
    concurrency: int
    notes: list = field(default_factory=list)
    _undo: list = field(default_factory=list)


def _is(obj, module: str, *names: str) -> bool:
    mod = sys.modules.get(module)
    if mod is None:
        return False
    for name in names:
        cls = mod
        for part in name.split("."):
            cls = getattr(cls, part, None)
        if isinstance(cls, type) and isinstance(obj, cls):
            return True
    return False


def _candidates(body, args):
    """The objects a loop's body may use: its inputs, the globals its code names, and one
    attribute level below them."""
    seen = set()
    first = list(args)
    code = getattr(body, "__code__", None)
    module_globals = getattr(body, "__globals__", {})
    if code is not None:
        for name in _names(code):
            value = module_globals.get(name)
            if value is not None and not isinstance(value, (types.ModuleType, type, types.FunctionType)):
                first.append(value)
    out = []
    for obj in first:
        for value in (obj, *_attributes(obj)):
            if id(value) not in seen:
                seen.add(id(value))
                out.append(value)
    return out


def _names(code, depth=0):
    names = set(code.co_names)
    if depth < 3:
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= _names(const, depth + 1)
    return names


def _attributes(obj):
    try:
        values = vars(obj).values()
    except TypeError:
        return []
    if isinstance(obj, type) or len(values) > 64:
        return []
    return [v for v in values if not isinstance(v, (str, bytes, int, float, bool, type(None)))]


def _is_client(obj) -> bool:
    return (_is(obj, "requests", "Session") or _is(obj, "urllib3", "PoolManager")
            or _is(obj, "httpx", "Client") or _httpx_inside(obj) is not None)


def _httpx_inside(obj):
    """The httpx.Client inside an SDK client (`openai.OpenAI()._client`), or None."""
    inner = getattr(type(obj), "__module__", "").split(".")[0] in ("openai", "anthropic") and getattr(obj, "_client", None)
    return inner if inner is not None and inner is not False and _is(inner, "httpx", "Client") else None


@contextmanager
def fitted(body, args, concurrency: int):
    """Fit the loop's clients for the duration of the `with`; yields a `Fit`."""
    fit = Fit(concurrency)
    try:
        for obj in _candidates(body, args):
            if _is(obj, "requests", "Session"):
                _fit_session(obj, fit)
            elif _is(obj, "urllib3", "PoolManager"):
                _fit_pool_manager(obj, fit, "urllib3.PoolManager")
            elif _is(obj, "httpx", "Client"):
                _fit_httpx(obj, fit, "httpx.Client")
            else:
                inner = _httpx_inside(obj)
                if inner is not None:
                    _fit_httpx(inner, fit, f"{type(obj).__module__.split('.')[0]}.{type(obj).__name__}")
    except Exception:  # noqa: BLE001 - fitting is an optimisation; a strange object must not break the loop
        log.debug("xcs: could not fit the loop's HTTP clients", exc_info=True)
    try:
        yield fit
    finally:
        for undo in reversed(fit._undo):
            try:
                undo()
            except Exception:  # noqa: BLE001
                log.debug("xcs: could not restore an HTTP client", exc_info=True)


# -- requests / urllib3 ---------------------------------------------------------------------

def _fit_session(session, fit: Fit) -> None:
    for adapter in list(getattr(session, "adapters", {}).values()):
        manager = getattr(adapter, "poolmanager", None)
        size = getattr(adapter, "_pool_maxsize", None)
        if manager is None or not isinstance(size, int):
            continue
        _raise_shared(fit, adapter, "_pool_maxsize", size,
                      lambda want, adapter=adapter: setattr(adapter, "_pool_maxsize", want),
                      lambda adapter=adapter, size=size: setattr(adapter, "_pool_maxsize", size))
        _fit_pool_manager(manager, fit, "requests.Session")
    hooks = getattr(session, "hooks", None)
    if isinstance(hooks, dict) and isinstance(hooks.get("response"), list):
        hooks["response"].append(_requests_hook)
        fit._undo.append(lambda hooks=hooks: _remove(hooks["response"], _requests_hook))


def _fit_pool_manager(manager, fit: Fit, name: str) -> None:
    kw = getattr(manager, "connection_pool_kw", None)
    if not isinstance(kw, dict):
        return
    size = kw.get("maxsize", 1)
    old = {id(p): p.pool.maxsize for p in _pools_of(manager)}

    def raise_to(want):
        kw["maxsize"] = want
        for p in _pools_of(manager):    # pools opened by an earlier loop still running too
            if p.pool.maxsize < want:
                p.pool.maxsize = want

    def restore():
        kw["maxsize"] = size
        for p in _pools_of(manager):    # pools opened during the loops too
            _shrink(p, old.get(id(p), size))

    raised = _raise_shared(fit, manager, "maxsize", size, raise_to, restore)
    if raised is not None:
        note = (f"{name}'s connection pool holds {raised[0]} per host: raised to {raised[1]} "
                f"for the loop (no 'Connection pool is full' discards)")
        if note not in fit.notes:
            fit.notes.append(note)


# Loops sharing a client at once (two threads, a loop nested in another's body) share its
# raise: every loop using it counts, the size is raised to the sum of their concurrencies
# (each may hold that many connections to a host at once), and only the last to end puts
# it back — the first to finish must not shrink the pool under a loop still running.
_shared_lock = threading.Lock()
_shared: dict = {}            # (id(obj), what) -> _Raised


class _Raised:
    __slots__ = ("obj", "original", "size", "restore", "users", "total", "raised")

    def __init__(self, obj, size, restore):
        self.obj = obj            # kept alive: its id is the key
        self.original = self.size = size
        self.restore = restore
        self.users = self.total = 0
        self.raised = False


def _raise_shared(fit: Fit, obj, what: str, size: int, raise_to, restore):
    """Count the loop among the users of `obj`'s `what` (now `size`) and raise it to the sum
    of their concurrencies if it holds less. Returns (size before any loop raised it, size
    now) if it is raised, else None."""
    key = (id(obj), what)
    want = fit.concurrency
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None:
            entry = _shared[key] = _Raised(obj, size, restore)
        entry.users += 1
        entry.total += want
        if entry.size < entry.total:
            raise_to(entry.total)
            entry.size = entry.total
            entry.raised = True
        result = (entry.original, entry.size) if entry.raised else None
    fit._undo.append(lambda: _release_shared(key, want))
    return result


def _release_shared(key, want: int) -> None:
    with _shared_lock:
        entry = _shared[key]
        entry.users -= 1
        entry.total -= want
        if entry.users:
            return
        del _shared[key]
        if entry.raised:
            entry.restore()


def _pools_of(manager) -> list:
    pools = getattr(manager, "pools", None)
    if pools is None:
        return []
    out = []
    for key in list(pools.keys()):
        p = pools.get(key) if hasattr(pools, "get") else pools[key]
        if p is not None and hasattr(getattr(p, "pool", None), "maxsize"):
            out.append(p)
    return out


def _shrink(p, size: int) -> None:
    """Put a urllib3 pool's size back, closing the idle connections above it."""
    queue = p.pool
    queue.maxsize = size
    while queue.qsize() > size:
        try:
            conn = queue.get_nowait()
        except Exception:  # noqa: BLE001 - emptied meanwhile
            return
        if conn is not None:
            conn.close()


def _requests_hook(response, *args, **kwargs):
    signals.response(getattr(response, "status_code", None), getattr(response, "headers", None))
    return None


# -- httpx ----------------------------------------------------------------------------------

def _fit_httpx(client, fit: Fit, name: str) -> None:
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    most = getattr(pool, "_max_connections", None)
    if isinstance(most, int) and most < fit.concurrency:
        fit.notes.append(f"{name} allows {most} connections (httpx.Limits): concurrency {most}, "
                         f"not {fit.concurrency} (more would only wait for a connection)")
        fit.concurrency = most
    keep = getattr(pool, "_max_keepalive_connections", None)
    if isinstance(keep, int):
        raised = _raise_shared(fit, pool, "_max_keepalive_connections", keep,
                               lambda want: setattr(pool, "_max_keepalive_connections", want),
                               lambda: setattr(pool, "_max_keepalive_connections", keep))
        if raised is not None:
            fit.notes.append(f"{name} keeps {raised[0]} idle connections: raised to {raised[1]} for the loop")
    hooks = getattr(client, "_event_hooks", None)
    if isinstance(hooks, dict) and isinstance(hooks.get("response"), list):
        hooks["response"].append(_httpx_hook)
        fit._undo.append(lambda: _remove(hooks["response"], _httpx_hook))


def _httpx_hook(response):
    signals.response(getattr(response, "status_code", None), getattr(response, "headers", None))


def _remove(hooks: list, hook) -> None:
    for n in range(len(hooks) - 1, -1, -1):
        if hooks[n] is hook:
            del hooks[n]
            return
