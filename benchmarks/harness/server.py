"""A local HTTP server with a fixed per-request latency, in its own process.

    python -m benchmarks.harness.server --latency 0.1     # prints "port <n>", stops when stdin closes

Serves, on 127.0.0.1 only:
- `GET /item/<k>` → after `latency` seconds, the body `item <k>` (the HTTP fan-out workloads);
- `GET /limited/<k>?above=K` → 429 at once above K requests in flight, else as `/item/<k>`
  (a rate-limited service: `benchmarks.overload`); `GET /_stats` → its 429 count and peak;
- `GET /slow/<k>?above=K` → `item <k>` after `latency × max(1, in flight / K)`: a service
  that slows down above K requests in flight (`benchmarks.slowdown`);
- `POST /v1/chat/completions` → after `latency` seconds, a chat completion whose content
  echoes the last user message (enough of the API for the real `openai` client).

It runs in a separate process so the server's own threads never compete with the client
for the client's GIL: the client then sees what it would see against a remote service. Each
request is handled on its own thread and the listen backlog is large, so hundreds of
requests can be in flight at once. `running_server(latency)` starts it and stops it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    latency = 0.0
    active = peak = rejected = 0
    gauge = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith(("/limited/", "/slow/")) or self.path == "/_stats":
            self._limited()
            return
        time.sleep(self.server.latency)
        if self.path.startswith("/item/"):
            self._reply(200, "text/plain", f"item {self.path[len('/item/'):]}".encode())
        else:
            self._reply(404, "text/plain", b"no such path")

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        time.sleep(self.server.latency)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._reply(404, "application/json", b'{"error": {"message": "no such path"}}')
            return
        last = (request.get("messages") or [{}])[-1].get("content", "")
        body = {"id": "chatcmpl-bench", "object": "chat.completion", "created": 0,
                "model": request.get("model", "m"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": f"echo: {last}"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        self._reply(200, "application/json", json.dumps(body).encode())

    def _limited(self) -> None:
        """`/limited/<k>?above=K`: 429 (`Retry-After: 0`) at once while more than K requests
        are in flight, else `item <k>` after the latency; `/_stats`: {"peak", "rejected"}
        since the last `/_stats`."""
        server = self.server
        if self.path == "/_stats":
            with server.gauge:
                data, server.peak, server.rejected = {"peak": server.peak, "rejected": server.rejected}, 0, 0
            self._reply(200, "application/json", json.dumps(data).encode())
            return
        route, _, rest = self.path.strip("/").partition("/")
        key, _, query = rest.partition("?above=")
        above = int(query or 1 << 30)
        with server.gauge:
            server.active += 1
            server.peak = max(server.peak, server.active)
            active = server.active
            over = route == "limited" and active > above
            server.rejected += over
        try:
            if over:
                self._reply(429, "text/plain", b"slow down", retry_after=True)
                return
            time.sleep(server.latency * (max(1.0, active / above) if route == "slow" else 1.0))
            self._reply(200, "text/plain", f"item {key}".encode())
        finally:
            with server.gauge:
                server.active -= 1

    def _reply(self, status: int, content_type: str, data: bytes, retry_after: bool = False) -> None:
        self.send_response(status)
        if retry_after:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def running_server(latency: float):
    """Start the server process; yields its base URL (`http://127.0.0.1:<port>`); stops it after."""
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.harness.server", "--latency", str(latency)],
                               cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            raise RuntimeError(f"the benchmark server did not start (it printed {line!r})")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="HTTP server with a fixed latency per request")
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args(argv)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.latency = args.latency
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    print("port", server.server_address[1], flush=True)
    sys.stdin.read()  # returns when the harness closes our stdin (or exits)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
