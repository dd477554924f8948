"""Per-host caps: `xcs.configure(per_host={"api.example.com": 4})`.

While a cap is configured, the HTTP entry points of the libraries the program imported —
`urllib3.connectionpool.HTTPConnectionPool.urlopen` (requests, urllib3),
`httpx.HTTPTransport.handle_request` (httpx, openai, anthropic) and
`urllib.request.AbstractHTTPHandler.do_open` (`urllib.request.urlopen`) — take one of the
host's slots when they run on one of XCS's workers, so XCS never has more than the cap of
workers talking to that host at once, whatever the loop's concurrency. A key is a host name
(`example.com`) or `host:port`. Calls on other threads (the program's own, the loop's
calling thread) are never held.

A slot is held from sending the request until the response's body is consumed or the
response is closed — the libraries read the body after the entry point returned (requests'
`stream=True` + `iter_content`, httpx streams, `urlopen(...).read()`), and the server
counts the connection in flight until then — or until the iteration's map part ends,
whichever comes first (`end_iteration()`, called by the lanes: a response kept open past
its iteration, or dropped unread, cannot keep the slot). A call that raises gives its slot
back at once. The releases are the libraries' own: urllib3's `HTTPResponse.release_conn` /
`close`, `http.client.HTTPResponse._close_conn` (end of body or close), `httpx.Response.close`
(called by httpx at the end of the body too).

A worker holds at most one slot per host: its further calls to a host it already holds
(urllib3's redirects and retries, a second stream opened before the first is read) share it,
so the cap counts workers, not connections. A worker that waits for a host's slot while
holding another host's never deadlocks with another waiting worker: when every holder of
the slot it waits for is itself waiting, directly or through other hosts, on slots this
worker holds, or for its iteration's turn (`xcs.runtime.turns`: the turn may need this
worker's iteration to end first), it goes ahead over the cap instead (`overruns` counts
those, for the tests). A request that waits for its turn (`xcs.runtime.creations`) waits
before it takes a slot: that wrapper stays outside this one whichever is installed first.

`ensure_installed()` wraps the entry points and the releases once, on the first loop
started with a cap.
"""
from __future__ import annotations

import functools
import sys
import threading

from xcs.config import settings
from xcs.runtime import turns
from xcs.runtime.pools import is_worker_thread

_ATTRIBUTE = "_xcs_host_tickets"

_install_lock = threading.Lock()
_installed: set = set()
_cond = threading.Condition(threading.Lock())
_taken: dict = {}             # key -> slots taken
_holders: dict = {}           # key -> {thread ident: _Use}
_waiting: dict = {}           # thread ident -> key it waits for
overruns = 0                  # slots taken over the cap to break a wait cycle


class _Thread(threading.local):
    uses = None               # key -> _Use of this thread (a dict once it held a slot)


_thread = _Thread()


def ensure_installed() -> None:
    """Wrap the entry points and releases of the HTTP libraries imported so far (idempotent)."""
    targets = []
    urllib3_pool = getattr(sys.modules.get("urllib3.connectionpool"), "HTTPConnectionPool", None)
    if urllib3_pool is not None:
        targets.append((urllib3_pool, "urlopen", _capped, lambda self, *a, **k: (self.host, self.port)))
    urllib3_response = getattr(sys.modules.get("urllib3.response"), "HTTPResponse", None)
    if urllib3_response is not None:
        targets.append((urllib3_response, "release_conn", _releasing, None))
        targets.append((urllib3_response, "close", _releasing, None))
    httpx = sys.modules.get("httpx")
    if getattr(httpx, "HTTPTransport", None) is not None:
        targets.append((httpx.HTTPTransport, "handle_request", _capped,
                        lambda self, request, *a, **k: (request.url.host, request.url.port)))
        targets.append((httpx.Response, "close", _releasing, None))
    handler = getattr(sys.modules.get("urllib.request"), "AbstractHTTPHandler", None)
    if handler is not None:
        targets.append((handler, "do_open", _capped, lambda self, http_class, req, *a, **k: _split(req.host)))
        client = sys.modules["http.client"].HTTPResponse   # imported by urllib.request
        targets.append((client, "_close_conn", _releasing, None))
    with _install_lock:
        for cls, name, wrap, where in targets:
            if (cls, name) in _installed or name not in vars(cls):
                continue
            current = vars(cls)[name]
            outer = getattr(current, "__xcs_outer__", None)   # xcs.runtime.creations: stays outermost
            if outer is None:
                setattr(cls, name, wrap(current, where))
            else:
                setattr(cls, name, outer(wrap(current.__xcs_inner__, where)))
            _installed.add((cls, name))


def _turn_wait_begins() -> None:
    """This worker starts waiting for its turn: workers waiting for a slot it holds look
    again whether going over the cap is the way out (`_cycle`)."""
    if _thread.uses:
        with _cond:
            _cond.notify_all()


turns.on_wait.append(_turn_wait_begins)


def end_iteration() -> None:
    """The iteration's map part ended on this thread: give back the slots it still holds."""
    uses = _thread.uses
    if uses:
        for use in list(uses.values()):
            use.end()


def _split(host: str):
    name, _, port = (host or "").partition(":")
    return name, int(port) if port.isdigit() else None


def _capped(method, where):
    @functools.wraps(method)
    def capped(*args, **kwargs):
        caps = settings().per_host
        if not caps or not is_worker_thread():
            return method(*args, **kwargs)
        try:
            host, port = where(*args, **kwargs)
        except Exception:  # noqa: BLE001 - an unexpected call shape is never held
            return method(*args, **kwargs)
        host = (host or "").lower()
        key = f"{host}:{port}" if port is not None and f"{host}:{port}" in caps else host
        cap = caps.get(key)
        if cap is None:
            return method(*args, **kwargs)
        ticket = _Ticket(_take(key, cap))
        try:
            response = method(*args, **kwargs)
        except BaseException:
            ticket.release()
            raise
        if _body_pending(response):
            try:
                tickets = response.__dict__.setdefault(_ATTRIBUTE, [])
                tickets.append(ticket)
                return response
            except Exception:  # noqa: BLE001 - a response that takes no attribute: head only
                pass
        ticket.release()
        return response

    capped.__xcs_capped__ = method
    return capped


def _body_pending(response) -> bool:
    """True if `response` still has a body to read from the server (not closed, not consumed)."""
    try:
        if hasattr(response, "is_closed"):             # httpx.Response
            return not response.is_closed
        if hasattr(response, "isclosed"):              # http.client.HTTPResponse
            return not response.isclosed()
        return not response.closed                     # urllib3.HTTPResponse: fp closed = consumed
    except Exception:  # noqa: BLE001 - unknown object: its slot ends with the call
        return False


def _releasing(method, where):
    @functools.wraps(method)
    def releasing(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        finally:
            tickets = self.__dict__.pop(_ATTRIBUTE, None) if hasattr(self, "__dict__") else None
            if tickets:
                for ticket in tickets:
                    ticket.release()

    releasing.__xcs_capped__ = method
    return releasing


class _Use:
    """One worker's hold on one host's slot: the calls and open responses sharing it."""
    __slots__ = ("key", "uses", "ident", "count", "ended")

    def __init__(self, key, uses, ident):
        self.key = key
        self.uses = uses
        self.ident = ident
        self.count = 0
        self.ended = False

    def end(self) -> None:
        """Give the slot back (once), whatever still shares it."""
        with _cond:
            if self.ended:
                return
            self.ended = True
            if self.uses.get(self.key) is self:
                del self.uses[self.key]
            holders = _holders.get(self.key)
            if holders is not None and holders.get(self.ident) is self:
                del holders[self.ident]
            _taken[self.key] -= 1
            _cond.notify_all()


class _Ticket:
    """One call's share of a `_Use`: released once, when its call raised, its response's
    body was consumed or closed, or (through the use) when the iteration ended."""
    __slots__ = ("use",)

    def __init__(self, use):
        self.use = use

    def release(self) -> None:
        use, self.use = self.use, None
        if use is None:
            return
        with _cond:
            if use.ended:
                return
            use.count -= 1
            last = use.count == 0
        if last:
            use.end()


def _take(key, cap) -> _Use:
    """This worker's use of `key`'s slot, taking a slot (waiting for one) if it holds none."""
    uses = _thread.uses
    if uses is None:
        uses = _thread.uses = {}
    ident = threading.get_ident()
    global overruns
    with _cond:
        use = uses.get(key)
        if use is None:
            while _taken.get(key, 0) >= cap:
                if _cycle(key, ident):
                    overruns += 1
                    break
                _waiting[ident] = key
                try:
                    _cond.wait()
                finally:
                    del _waiting[ident]
            _taken[key] = _taken.get(key, 0) + 1
            use = uses[key] = _Use(key, uses, ident)
            _holders.setdefault(key, {})[ident] = use
        use.count += 1
        return use


def _cycle(key, ident) -> bool:
    """Under the lock: True if no holder of `key` can go on — each waits, directly or through
    the holders of the slots it waits for, on a slot `ident` holds (a deadlock if it waited)."""
    seen_keys = set()
    stack = [key]
    while stack:
        k = stack.pop()
        if k in seen_keys:
            continue
        seen_keys.add(k)
        for holder in _holders.get(k, {}):
            if holder == ident:
                continue
            waits_for = _waiting.get(holder)
            if waits_for is None:
                if holder in turns.waiting:
                    continue          # it waits for its turn, which may need this worker's slots
                return False          # a holder is running: it will give its slot back
            stack.append(waits_for)
    return True
