"""A local HTTP service that creates numbered resources, for the tests of `xcs.runtime.creations`.

    python -m tests.runtime.creating_service     # prints "port <n>", stops when stdin closes

Routes (on 127.0.0.1; JSON bodies; every request waits `delay` seconds — the JSON body's
`delay`, else the query's, else 0.02 — while it counts as in flight):
- `POST /repos/<name>/issues?answer=A`  creates an issue numbered 1, 2, ... per path in the
     order the requests *finish* waiting (so a request sent later but shorter gets the lower
     number); answers `{"number": n, "title": ...}` with, by A: `201` (default) 201 Created and
     a Location header, as GitHub's API does; `201bare` 201 without Location; `location` 200
     with a Location header; `body` 200 with the number only in the body (not detectable);
- `POST /flaky/<token>?fails=F&how=H`   the first F requests with that token fail — H `500`
     (default) answers 500, `drop` closes the connection without an answer — then as
     `/repos/.../issues` with answer 201 (one numbering per token);
- `POST /v1/chat/completions`           an OpenAI chat completion echoing the last message (200);
- `POST /api/generate`                  an ollama-style `{"response": ...}` (200);
- `GET /item/<k>`                       `{"item": k}` (200);
- `GET /_stats`                         `{"requests", "peak"}` since the last `/_stats` (then reset):
     `peak` is the most requests in flight at once (the overlap gauge).
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
        self.active = self.peak = self.requests = 0
        self.numbers: dict = {}
        self.failures: dict = {}

    def handle_error(self, request, client_address):
        pass      # a client that closed its connection (an unread streamed answer) is no error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/_stats":
            with self.server.lock:
                body = {"requests": self.server.requests, "peak": self.server.peak}
                self.server.requests = self.server.peak = 0
            return self._reply(200, body)
        self._work(parse_qs(parts.query), {})
        segs = parts.path.strip("/").split("/")
        self._reply(200, {"item": segs[-1]})

    def do_POST(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if isinstance(request, str):
            request = json.loads(request)
        path = parts.path.rstrip("/")
        segs = path.strip("/").split("/")
        if segs[0] == "flaky":
            fails = int(query.get("fails", ["1"])[0])
            with self.server.lock:
                seen = self.server.failures[path] = self.server.failures.get(path, 0) + 1
            if seen <= fails:
                self._work(query, request)
                if query.get("how", ["500"])[0] == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                return self._reply(500, {"error": "try again"})
            return self._create(path, request, "201")
        if segs[0] == "repos" and segs[-1] == "issues":
            return self._create(path, request, query.get("answer", ["201"])[0])
        if path == "/v1/chat/completions":
            self._work(query, request)
            last = (request.get("messages") or [{}])[-1].get("content", "")
            return self._reply(200, {"id": "chatcmpl-local", "object": "chat.completion", "created": 0,
                                     "model": request.get("model", "m"),
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": f"echo: {last}"}}],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
        if path == "/api/generate":
            self._work(query, request)
            return self._reply(200, {"response": f"generated: {request.get('prompt')}", "done": True})
        self._reply(404, {"error": f"no route {path}"})

    def _create(self, path, request, answer):
        self._work({}, request, numbered=path)
        number = self._number
        body = {"number": number, "title": request.get("title")}
        if answer == "body":
            return self._reply(200, body)
        location = {"Location": f"http://127.0.0.1:{self.server.server_address[1]}{path}/{number}"}
        if answer == "location":
            return self._reply(200, body, location)
        return self._reply(201, body, location if answer == "201" else None)

    def _work(self, query, request, numbered=None):
        """Count the request in flight for its delay; number it at the end if asked."""
        delay = request.get("delay") if isinstance(request, dict) else None
        if delay is None:
            delay = float(query.get("delay", ["0.02"])[0])
        server = self.server
        with server.lock:
            server.active += 1
            server.requests += 1
            server.peak = max(server.peak, server.active)
        try:
            time.sleep(delay)
        finally:
            with server.lock:
                server.active -= 1
                if numbered is not None:
                    self._number = server.numbers[numbered] = server.numbers.get(numbered, 0) + 1

    def _reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def running_service():
    """Start the service process; yields its base URL; stops it afterwards."""
    process = subprocess.Popen([sys.executable, "-m", "tests.runtime.creating_service"], cwd=REPO,
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
