"""A local HTTP service for the runtime's load tests, in its own process.

    python -m tests.runtime.services     # prints "port <n>", stops when stdin closes

Routes (GET, on 127.0.0.1):
- `/item/<k>?delay=S`            `item k` after S seconds;
- `/fail/<k>?bad=B&delay=S`      500 at once for k == B, else `item k` after S seconds;
- `/slow/<k>?above=K&base=S`     `item k` after S × max(1, in_flight / K): a service that
                                 slows down above K requests in flight (counted on arrival);
- `/limited/<k>?above=K&base=S`  429 with `Retry-After: 0` at once when more than K requests
                                 are in flight, else `item k` after S seconds;
- `/stream/<k>?chunks=N&gap=S&client=C`  a body of N chunks `item k;` (Content-Length), one
                                 every S seconds: in flight until the last chunk is written;
- `/gate/<name>`                 `gate <name>` once `/open/<name>` was requested (at most 60 s);
- `/arrived/<name>`              `yes` once a `/gate/<name>` request has arrived (at most 60 s):
                                 a test's sign that a loop is running, and a way to hold it there;
- `/_stats`                      JSON {"requests", "peak", "rejected", "items", "clients"} since the
                                 last `/_stats` (then reset): `peak` is the most requests in flight
                                 at once (the gauge), `items` the k of every request, in arrival
                                 order, `clients` the peak per `client=` query value (the gauge
                                 per client, for per-host caps: many clients, one host).
"""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parents[2]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.active = self.peak = self.requests = self.rejected = 0
        self.items: list = []
        self.by_client: dict = {}      # client -> requests in flight
        self.gates: dict = {}          # name -> (arrived, open) events
        self.client_peaks: dict = {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route, _, key = parts.path.strip("/").partition("/")
        if route in ("gate", "arrived", "open"):
            with server.lock:
                arrived, opened = server.gates.setdefault(key, (threading.Event(), threading.Event()))
            if route == "gate":
                arrived.set()
                opened.wait(60)
            elif route == "arrived":
                arrived.wait(60)
            else:
                opened.set()
            self._reply(200, f"{route} {key}".encode())
            return
        if route == "_stats":
            with server.lock:
                data = {"requests": server.requests, "peak": server.peak, "rejected": server.rejected,
                        "items": server.items, "clients": server.client_peaks}
                server.requests = server.peak = server.rejected = 0
                server.items = []
                server.client_peaks = {}
            self._reply(200, json.dumps(data).encode(), "application/json")
            return
        client = query.get("client")
        self._client = client
        self._counted = True
        with server.lock:
            server.active += 1
            server.requests += 1
            server.peak = max(server.peak, server.active)
            active = server.active
            server.items.append(key)
            if client is not None:
                server.by_client[client] = now = server.by_client.get(client, 0) + 1
                server.client_peaks[client] = max(server.client_peaks.get(client, 0), now)
        try:
            base = float(query.get("base", query.get("delay", 0)))
            above = int(query.get("above", 1 << 30))
            if route == "fail" and key == query.get("bad"):
                self._reply(500, b"failed")
                return
            if route == "limited" and active > above:
                with server.lock:
                    server.rejected += 1
                self._reply(429, b"slow down", extra={"Retry-After": "0"})
                return
            if route == "stream":
                self._stream(key, int(query.get("chunks", 4)), float(query.get("gap", 0.05)))
                return
            if route == "slow":
                base *= max(1.0, active / above)
            time.sleep(base)
            self._reply(200, f"item {key}".encode())
        finally:
            self._leave()

    def _leave(self):
        """The request stops counting as in flight: just before the response's last bytes are
        written (once the client has them, it may send its next request, which must not find
        this one still counted), or when the handler ends."""
        if not getattr(self, "_counted", False):
            return
        self._counted = False
        server = self.server
        with server.lock:
            server.active -= 1
            if self._client is not None:
                server.by_client[self._client] -= 1

    def _stream(self, key, chunks, gap):
        chunk = f"item {key};".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(chunk) * chunks))
        self.end_headers()
        self.wfile.flush()
        try:
            for n in range(chunks):
                time.sleep(gap)
                if n == chunks - 1:
                    self._leave()
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True       # the client closed the response before its end

    def _reply(self, status, data, content_type="text/plain", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._leave()
        self.wfile.write(data)


@contextlib.contextmanager
def running_service():
    """Start the service process; yields its base URL; stops it afterwards."""
    process = subprocess.Popen([sys.executable, "-m", "tests.runtime.services"], cwd=REPO,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().split()
        assert len(line) == 2 and line[0] == "port", line
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stats(base: str) -> dict:
    """The gauge since the last call (then reset)."""
    with urllib.request.urlopen(base + "/_stats", timeout=10) as response:
        return json.loads(response.read())


def main() -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    print("port", server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
