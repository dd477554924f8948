"""Per-host caps: `xcs.configure(per_host={"api.example.com": 4})`.

While a cap is configured, the HTTP entry points of the libraries the program imported —
`urllib3.connectionpool.HTTPConnectionPool.urlopen` (requests, urllib3),
`httpx.HTTPTransport.handle_request` (httpx, openai, anthropic) and
`urllib.request.AbstractHTTPHandler.do_open` (`urllib.request.urlopen`) — take a per-host
semaphore around the request when they run on one of XCS's workers, so XCS never has more
than the cap of requests to that host in flight, whatever the loop's concurrency. The
semaphore covers sending the request and reading the response head (requests and httpx
read the body afterwards). It is re-entrant per thread (urllib3 calls `urlopen` again for
redirects and retries). Calls on other threads (the program's own, the loop's calling
thread) are never held. A key is a host name (`example.com`) or `host:port`.

`ensure_installed()` wraps the entry points once, on the first loop started with a cap.
"""
from __future__ import annotations

import functools
import sys
import threading

from xcs.config import settings
from xcs.runtime.pools import is_worker_thread

_lock = threading.Lock()
_installed: set = set()
_semaphores: dict = {}        # (key, cap) -> BoundedSemaphore
_held = threading.local()     # key -> depth on this thread


def ensure_installed() -> None:
    """Wrap the entry points of the HTTP libraries imported so far (idempotent)."""
    targets = []
    urllib3_pool = getattr(sys.modules.get("urllib3.connectionpool"), "HTTPConnectionPool", None)
    if urllib3_pool is not None:
        targets.append((urllib3_pool, "urlopen", lambda self, *a, **k: (self.host, self.port)))
    httpx_transport = getattr(sys.modules.get("httpx"), "HTTPTransport", None)
    if httpx_transport is not None:
        targets.append((httpx_transport, "handle_request", lambda self, request, *a, **k: (request.url.host, request.url.port)))
    handler = getattr(sys.modules.get("urllib.request"), "AbstractHTTPHandler", None)
    if handler is not None:
        targets.append((handler, "do_open", lambda self, http_class, req, *a, **k: _split(req.host)))
    with _lock:
        for cls, name, where in targets:
            if (cls, name) in _installed:
                continue
            setattr(cls, name, _capped(getattr(cls, name), where))
            _installed.add((cls, name))


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
        with _Hold(key, cap):
            return method(*args, **kwargs)

    capped.__xcs_capped__ = method
    return capped


class _Hold:
    __slots__ = ("key", "semaphore", "depth")

    def __init__(self, key, cap):
        self.key = key
        with _lock:
            self.semaphore = _semaphores.setdefault((key, cap), threading.BoundedSemaphore(cap))

    def __enter__(self):
        depths = _held.__dict__.setdefault("depths", {})
        depth = depths.get(self.key, 0)
        if not depth:
            self.semaphore.acquire()
        depths[self.key] = depth + 1

    def __exit__(self, *exc):
        depths = _held.depths
        depths[self.key] -= 1
        if not depths[self.key]:
            del depths[self.key]
            self.semaphore.release()
