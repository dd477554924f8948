"""Requests that create resources run in order: learned per endpoint while the program runs.

A POST or PATCH may create something on the server — an issue, an order, a job — and a
server numbers what it creates in the order the requests arrive: sent in parallel, the
numbers go to other items than in the plain loop. The same method also carries requests
that create nothing (an LLM's `/v1/chat/completions`, a prediction, a search), which are
XCS's main use and must stay parallel. Nothing in the request tells the two apart; the
answer does (RFC 9110 §15.3.2: a request that created a resource answers 201 Created, or
a Location header naming it; §15.4.4: 303 See Other after a POST points at its result).

So an *endpoint* — method, scheme, host, port and path without the query, digit-only path
segments and long hex ones (UUIDs) counted as one (`/issues/42/comments` and
`/issues/7/comments` are one endpoint: `xcs.config.endpoint_path`) — is learned, once per
process, from its first 2xx or 3xx answer:

- `CREATES`: 201, 302, 303, or a 2xx with a Location header. From then on a request to it
  from an iteration running without the turn first takes the turn (`xcs.runtime.turns`):
  these requests run in iteration order, one after another, as in the plain loop.
- `INDEPENDENT`: any other 2xx, or 301/307/308 (the request moved; where it goes is judged
  on its own). Its requests are sent at once.
- unknown (no such answer yet: none was sent, or each failed with a 4xx or 5xx, raised or
  timed out — an error says nothing about what a success would do): the first request to
  it takes the turn and is sent in order (the *probe*); the others wait until its answer
  decides the endpoint or their own turn comes, then go as decided, or in order (each
  in-order request of an unknown endpoint teaches as a probe does). When a probe leaves
  the endpoint unknown, the next waiting request probes.

What a user said wins over what was learned: `xcs.configure(endpoints={"POST host/path":
"independent" | "creates"})` (`xcs.config`).

A 200 answer carrying a new id in its body is indistinguishable from an answer that
created nothing: such an endpoint is learned as independent (README, contract).

Only requests made on XCS's workers by an iteration without the turn are held; every other
call goes straight through after one thread-local lookup, and GET/HEAD/PUT/DELETE/OPTIONS
after one more comparison. The turn is taken before the library's own entry point runs,
so before it takes a pooled connection or a per-host slot (`xcs.runtime.hosts` keeps this
wrapper outside its own).

`ensure_installed()` wraps, once each, the entry points of the libraries imported so far:
`urllib3.connectionpool.HTTPConnectionPool.urlopen` (requests, urllib3),
`httpx.HTTPTransport.handle_request` (httpx, openai, anthropic) and
`urllib.request.AbstractHTTPHandler.do_open` (`urllib.request.urlopen`).
`take_notes()` hands the loop's calling thread the endpoints its iterations ran in order
because they create resources.
"""
from __future__ import annotations

import functools
import sys
import threading
from urllib.parse import urlsplit

from xcs.config import endpoint_path, settings
from xcs.runtime import turns

CREATES = "creates"
INDEPENDENT = "independent"
METHODS = frozenset({"POST", "PATCH"})       # RFC 9110: neither safe nor idempotent
_DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 9110 §15.4: 302 and 303 after a POST point at what it made (the Post/Redirect/Get of
# web forms answers 302 as often as 303); 301, 307 and 308 move the request itself.
_CREATED = {201: "201 Created", 302: "302 Found", 303: "303 See Other"}
_MOVED = {301: "301 Moved Permanently", 307: "307 Temporary Redirect", 308: "308 Permanent Redirect"}

_lock = threading.Lock()
_endpoints: dict = {}       # Endpoint key -> _Endpoint
_notes: dict = {}           # calling thread ident -> {Endpoint key: evidence}
_install_lock = threading.Lock()
_installed: set = set()


class _Endpoint:
    """What is known of one endpoint; changed under `_lock`."""

    __slots__ = ("verdict", "evidence", "probing", "waiters")

    def __init__(self):
        self.verdict = None      # CREATES, INDEPENDENT or None (unknown)
        self.evidence = None     # the answer that decided it, in words ("201 Created")
        self.probing = False     # a request to it is on its way in order
        self.waiters = []        # Events of the requests waiting for its verdict or their turn

    def register(self, event) -> None:
        """Wake `event` when the endpoint is decided or its probe ends (at once if so already)."""
        with _lock:
            if self.verdict is None and self.probing:
                self.waiters.append(event)
                return
        event.set()


def endpoint_key(method: str, scheme: str, host: str, port, path: str) -> tuple:
    """(METHOD, scheme, host, port, path): the endpoint a request goes to."""
    scheme = (scheme or "http").lower()
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    return (method.upper(), scheme, (host or "").lower(), port, endpoint_path(path))


def describe(key: tuple) -> str:
    """`POST host:port/path` for a key."""
    method, scheme, host, port, path = key
    where = host if port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{method} {where}{path}"


def verdict_of(key: tuple):
    """What is known of `key`'s endpoint: (verdict or None, evidence or None)."""
    endpoint = _endpoints.get(key)
    return (None, None) if endpoint is None else (endpoint.verdict, endpoint.evidence)


def forget() -> None:
    """Forget every learned endpoint (for tests)."""
    with _lock:
        _endpoints.clear()
        _notes.clear()


def take_notes() -> dict:
    """{endpoint in words: evidence} of the requests that iterations of loops called from this
    thread ran in order because their endpoint creates resources, since the last call."""
    with _lock:
        notes = _notes.pop(threading.get_ident(), None)
    return {describe(key): evidence for key, evidence in (notes or {}).items()}


def answer_verdict(response):
    """(verdict, evidence) from a response of urllib3, httpx or http.client; (None, None)
    when the answer does not tell (not a 2xx or 303)."""
    status = getattr(response, "status", None)
    if not isinstance(status, int):
        status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None, None
    if status in _CREATED:
        return CREATES, _CREATED[status]
    if status in _MOVED:
        # The request was moved elsewhere, nothing was made here: the request that follows
        # the redirect goes to its own endpoint, judged on its own answer.
        return INDEPENDENT, _MOVED[status]
    if not 200 <= status < 300:
        return None, None
    try:
        location = response.headers.get("Location")
    except Exception:  # noqa: BLE001 - headers of an unexpected shape: none seen
        location = None
    if location:
        return CREATES, f"{status} with a Location header"
    return INDEPENDENT, str(status)


MAX_ENDPOINTS = 4096   # endpoints remembered per process; a crawler POSTing to a new path per
                       # item would otherwise grow the table without end


def _endpoint(key) -> _Endpoint:
    endpoint = _endpoints.get(key)
    if endpoint is None:
        with _lock:
            endpoint = _endpoints.get(key)
            if endpoint is None:
                if len(_endpoints) >= MAX_ENDPOINTS:
                    _forget_oldest()
                endpoint = _endpoints[key] = _Endpoint()
    return endpoint


def _forget_oldest() -> None:
    """Under `_lock`: drop the oldest endpoint no request is probing or waiting for (it is
    learned again if requests go to it later: unknown, so in order until an answer decides)."""
    for key, endpoint in _endpoints.items():
        if not endpoint.probing and not endpoint.waiters:
            del _endpoints[key]
            return


def _settle(endpoint, verdict, evidence, probing) -> None:
    with _lock:
        if verdict is not None and endpoint.verdict is None:
            endpoint.verdict, endpoint.evidence = verdict, evidence
        if probing:
            endpoint.probing = False
        if endpoint.verdict is None and not probing:
            return
        waiters, endpoint.waiters = endpoint.waiters, []
    for event in waiters:
        event.set()


def _note(key, evidence) -> None:
    """The request running on this thread goes in order because `key` creates resources."""
    iteration = turns._state.iteration
    loop = iteration.loop if iteration is not None else turns._state.owner
    if loop is None:
        return
    with _lock:
        _notes.setdefault(loop.caller[0], {}).setdefault(key, evidence)


def _send(method, args, kwargs, key):
    """Send a request of an iteration without the turn, as its endpoint's verdict says."""
    configured = settings().options.endpoints
    if configured:
        said = configured.get(describe(key))
        if said == INDEPENDENT:
            return method(*args, **kwargs)
        if said == CREATES:
            turns.take_turn()
            _note(key, "declared with xcs.configure")
            return method(*args, **kwargs)
    endpoint = _endpoint(key)
    while True:
        with _lock:
            verdict = endpoint.verdict
            probe = verdict is None and not endpoint.probing
            if probe:
                endpoint.probing = True
        if verdict is INDEPENDENT:
            return method(*args, **kwargs)
        if verdict is CREATES:
            turns.take_turn()
            _note(key, endpoint.evidence)
            return method(*args, **kwargs)
        if probe:
            try:
                turns.take_turn()
            except BaseException:
                _settle(endpoint, None, None, True)
                raise
            return _learn(method, args, kwargs, key, endpoint, True)
        if turns.take_turn_or_wait(endpoint.register):
            return _learn(method, args, kwargs, key, endpoint, False)


def _learn(method, args, kwargs, key, endpoint, probing):
    """Send in order (the turn is taken) and learn the endpoint's verdict from the answer."""
    try:
        response = method(*args, **kwargs)
    except BaseException:
        _settle(endpoint, None, None, probing)
        raise
    try:
        verdict, evidence = answer_verdict(response)
    except Exception:  # noqa: BLE001 - an answer XCS cannot read teaches nothing
        verdict, evidence = None, None
    _settle(endpoint, verdict, evidence, probing)
    if endpoint.verdict is CREATES:
        _note(key, endpoint.evidence)
    return response


def _wrap(method, verb_of, where):
    """`method` (an HTTP library's entry point) sending as `_send` says on workers without
    the turn; `verb_of(*args, **kwargs)` -> the call's HTTP method, `where(*args, **kwargs)`
    -> (scheme, host, port, path) of a POST or PATCH."""
    state = turns._state

    @functools.wraps(method)
    def ordered_if_creating(*args, **kwargs):
        if state.iteration is None:
            return method(*args, **kwargs)
        try:
            verb = verb_of(*args, **kwargs)
            if verb not in METHODS:
                verb = verb.upper() if isinstance(verb, str) else verb.decode("ascii").upper()
                if verb not in METHODS:
                    return method(*args, **kwargs)
            key = endpoint_key(verb, *where(*args, **kwargs))
        except Exception:  # noqa: BLE001 - a call of an unexpected shape: unknown, so in order
            turns.take_turn()
            return method(*args, **kwargs)
        return _send(method, args, kwargs, key)

    ordered_if_creating.__xcs_inner__ = method
    ordered_if_creating.__xcs_outer__ = lambda inner: _wrap(inner, verb_of, where)
    return ordered_if_creating


def _path(url) -> str:
    """The path of a request target: `/a/b?q` or an absolute URL (through a proxy)."""
    return urlsplit(url if isinstance(url, str) else url.decode("ascii")).path or "/"


def _urllib3_verb(self, method, *args, **kwargs):
    return method


def _urllib3_where(self, method, url, *args, **kwargs):
    return self.scheme, self.host, self.port, _path(url)


def _httpx_verb(self, request, *args, **kwargs):
    return request.method


def _httpx_where(self, request, *args, **kwargs):
    url = request.url
    return url.scheme, url.host, url.port, url.path


def _urllib_verb(self, http_class, req, *args, **kwargs):
    return req.get_method()


def _urllib_where(self, http_class, req, *args, **kwargs):
    host, _, port = (req.host or "").rpartition(":") if ":" in (req.host or "") else (req.host, "", "")
    return req.type, host, int(port) if port.isdigit() else None, _path(req.selector)


def ensure_installed() -> None:
    """Wrap the entry points of the HTTP libraries imported so far (idempotent, cheap)."""
    targets = []
    pool = getattr(sys.modules.get("urllib3.connectionpool"), "HTTPConnectionPool", None)
    if pool is not None:
        targets.append((pool, "urlopen", _urllib3_verb, _urllib3_where))
    transport = getattr(sys.modules.get("httpx"), "HTTPTransport", None)
    if transport is not None:
        targets.append((transport, "handle_request", _httpx_verb, _httpx_where))
    handler = getattr(sys.modules.get("urllib.request"), "AbstractHTTPHandler", None)
    if handler is not None:
        targets.append((handler, "do_open", _urllib_verb, _urllib_where))
    if all((cls, name) in _installed for cls, name, *_ in targets):
        return
    with _install_lock:
        for cls, name, verb_of, where in targets:
            if (cls, name) in _installed or name not in vars(cls):
                continue
            setattr(cls, name, _wrap(vars(cls)[name], verb_of, where))
            _installed.add((cls, name))
