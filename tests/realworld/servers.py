"""The local services the real-world loops talk to instead of the Internet.

    python -m tests.realworld.servers --latency 0.01    # prints "port <n>", stops when stdin closes

One HTTP server on 127.0.0.1, in its own process (so its threads never compete with the loop
under test for that interpreter's GIL), each request on its own thread after `latency` seconds:

- `GET /item/<k>`            JSON `{"id": k, "name": "item k", "task_id": "task-k", "string": "term k"}`;
- `GET /text/<k>`            the text `page <k>`; `GET /file/<name>` the bytes `data of <name>`;
- `GET /status/<k>?code=C`   status C (default 200) with a JSON body: 429s and 500s for chosen items;
- `GET /warmup/<token>/<n>`  503 for the first n-1 requests with that token, then 200 (a service
                             that becomes ready: retry loops);
- `GET /limited/<token>?gap=S` 429 when the previous request with that token came less than S
                             seconds before (a rate-limited API: throttled loops);
- `POST /v1/chat/completions` an OpenAI chat completion echoing the last user message (the real
                             `openai` client talks to it); a message containing `FAIL429` or
                             `FAIL500` gets that status instead;
                             `WARMUP429:<token>:<n>` gets 429 until its n-th try;
- `POST /v1/embeddings`      OpenAI embeddings, a small deterministic vector per input;
- `POST /v1/engines/<e>/logprob|completions` the TextSynth API (lm-evaluation-harness); a text
                             containing `ERROR` gets `{"error": ...}`;
- `POST /warmup/<token>/<n>` an HTML 502 page for the first n-1 posts with that token, then JSON;
- `GET /gh/<token>/repos/<owner>/<name>?quota=Q&window=W` a GitHub-like API with a quota of Q
                             requests per W seconds, in X-RateLimit-Remaining/-Reset headers;
                             403 past the quota;
- `POST /repos/<owner>/<repo>/issues` creates an issue numbered 1, 2, ... per repository in the
                             order they are created, answering as GitHub does: 201 Created with the
                             new issue's URL in Location; a body of length L takes 2*(L % 3) extra latencies;
- `POST /predict`, `POST /test` echo what was posted, with a prediction / a count;
- `GET /_stats`              `{"requests": n, "peak": p, "active": a}` since the last `/_stats`
                             (then reset): `peak` is the most requests in flight at once — the
                             overlap gauge; `active` the requests in flight now.

`running_server(latency)` starts the process and yields its base URL (`http://127.0.0.1:<port>`);
`stats(base)` reads and resets the gauge.
"""
from __future__ import annotations

import argparse
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
    latency = 0.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.active = self.peak = self.requests = 0
        self.warmup: dict[str, int] = {}
        self.last_seen: dict[str, float] = {}
        self.quota: dict[str, tuple] = {}
        self.issues: dict[str, int] = {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    # -- bookkeeping around every request ------------------------------------------------
    def _enter(self) -> None:
        server = self.server
        with server.lock:
            server.active += 1
            server.requests += 1
            server.peak = max(server.peak, server.active)

    def _leave(self) -> None:
        with self.server.lock:
            self.server.active -= 1

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/_stats":
            with self.server.lock:
                body = {"requests": self.server.requests, "peak": self.server.peak, "active": self.server.active}
                self.server.requests = self.server.peak = 0
            return self._json(200, body)
        self._enter()
        try:
            arrived = time.monotonic()
            time.sleep(self.server.latency)
            status, ctype, data, *headers = self._route_get(parts.path.strip("/").split("/"), parse_qs(parts.query), arrived)
        finally:
            self._leave()
        self._reply(status, ctype, data, *headers)

    def _route_get(self, segs, query, arrived):
        kind, rest = segs[0], segs[1:]
        if kind == "item" and rest:
            k = rest[0]
            return 200, "application/json", json.dumps(
                {"id": k, "name": f"item {k}", "task_id": f"task-{k}", "string": f"term {k}"}).encode()
        if kind == "text" and rest:
            return 200, "text/plain", f"page {rest[0]}".encode()
        if kind == "file" and rest:
            return 200, "application/octet-stream", f"data of {rest[-1]}".encode()
        if kind == "status" and rest:
            code = int(query.get("code", ["200"])[0])
            return code, "application/json", json.dumps({"item": rest[0], "status": code}).encode()
        if kind == "warmup" and len(rest) == 2:
            token, needed = rest[0], int(rest[1])
            seen = self._count(token)
            if seen < needed:
                return 503, "application/json", b'{"error": "warming up"}'
            return 200, "application/json", json.dumps({"ready": True, "attempt": seen}).encode()
        if kind == "gh" and len(rest) >= 4:           # /gh/<token>/repos/<owner>/<name>?quota=Q&window=W
            quota = int(query.get("quota", ["3"])[0])
            window = float(query.get("window", ["0.2"])[0])
            now = time.time()                             # the reset is announced in wall-clock time
            with self.server.lock:
                start, used = self.server.quota.get(rest[0], (now, 0))
                if now >= start + window:
                    start, used = now, 0
                used += 1
                self.server.quota[rest[0]] = (start, used)
            headers = {"X-RateLimit-Remaining": str(max(quota - used, 0)), "X-RateLimit-Reset": repr(start + window)}
            if used > quota:
                return 403, "application/json", json.dumps({"message": "API rate limit exceeded"}).encode(), headers
            return 200, "application/json", json.dumps({"full_name": "/".join(rest[2:]), "stars": len(rest[-1])}).encode(), headers
        if kind == "limited" and rest:
            gap = float(query.get("gap", ["0.05"])[0])
            with self.server.lock:
                last = self.server.last_seen.get(rest[0])
                self.server.last_seen[rest[0]] = arrived
            if last is not None and arrived - last < gap:
                return 429, "text/plain", b"Too Many Requests"
            return 200, "text/plain", b"OK"
        return 404, "text/plain", b"no such path"

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self._enter()
        try:
            path = urlsplit(self.path).path.rstrip("/")
            if isinstance(request, str) and path.endswith("/issues"):
                request = json.loads(request)
            if isinstance(request, dict) and path.endswith("/issues"):   # long bodies take longer
                time.sleep(self.server.latency * 2 * (len(request.get("body") or "") % 3))
            time.sleep(self.server.latency)
            status, body, *headers = self._route_post(urlsplit(self.path).path.rstrip("/"), request)
        finally:
            self._leave()
        self._json(status, body, *headers)

    def _route_post(self, path, request):
        if path == "/v1/chat/completions":
            last = (request.get("messages") or [{}])[-1].get("content", "")
            if str(last).startswith("WARMUP429:"):          # WARMUP429:<token>:<n>: 429 until the n-th try
                _, token, needed = str(last).split(":")
                seen = self._count(token)
                if seen < int(needed):
                    return 429, {"error": {"message": "Rate limit reached", "type": "test", "code": None}}
                last = f"ready at try {seen}"
            for code in (429, 500):
                if f"FAIL{code}" in str(last):
                    return code, {"error": {"message": f"injected {code} for {last!r}", "type": "test", "code": None}}
            return 200, {"id": "chatcmpl-local", "object": "chat.completion", "created": 0,
                         "model": request.get("model", "m"),
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": f"echo: {last}"}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        if path == "/v1/embeddings":
            inputs = request.get("input")
            inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
            data = [{"object": "embedding", "index": i, "embedding": _vector(str(text))} for i, text in enumerate(inputs)]
            return 200, {"object": "list", "data": data, "model": request.get("model", "e"),
                         "usage": {"prompt_tokens": 1, "total_tokens": 1}}
        if path.startswith("/v1/engines/"):
            text = request.get("continuation", request.get("prompt", ""))
            if "ERROR" in text:
                return 200, {"error": f"cannot score {text!r}"}
            if path.endswith("/logprob"):
                return 200, {"logprob": -0.5 * len(text), "is_greedy": len(text) % 2 == 0}
            return 200, {"text": f" after {text}"}
        if path.startswith("/warmup/"):                  # POST /warmup/<token>/<n>: a proxy page until ready
            _, _, token, needed = path.split("/")
            if self._count(token) < int(needed):
                return 502, "<html>502 Bad Gateway</html>"
            return 200, {"prediction": 0, "input": request}
        if path.startswith("/repos/") and path.endswith("/issues"):   # numbered when created, per repository
            with self.server.lock:
                number = self.server.issues[path] = self.server.issues.get(path, 0) + 1
            # As GitHub's "Create an issue": 201 Created, the new issue's API URL in Location.
            location = f"http://{self.headers.get('Host', '127.0.0.1')}{path}/{number}"
            return 201, {"number": number, "title": request.get("title"), "state": "open"}, {"Location": location}
        if path == "/predict":
            return 200, {"prediction": sum(v for v in request.values() if isinstance(v, (int, float))), "input": request}
        if path == "/test":
            payload = json.loads(request) if isinstance(request, str) else request
            return 200, {"received": len(payload.get("instances", []))}
        return 404, {"error": {"message": f"no route {path}"}}

    def _count(self, token: str) -> int:
        with self.server.lock:
            seen = self.server.warmup[token] = self.server.warmup.get(token, 0) + 1
        return seen

    def _json(self, status, body, headers=None) -> None:
        if isinstance(body, str):
            return self._reply(status, "text/html", body.encode(), headers)
        self._reply(status, "application/json", json.dumps(body).encode(), headers)

    def _reply(self, status: int, content_type: str, data: bytes, headers=None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _vector(text: str) -> list:
    """A small deterministic embedding of `text`."""
    return [float(len(text)), float(sum(map(ord, text)) % 97), float(text.count(" "))]


@contextlib.contextmanager
def running_server(latency: float):
    """Start the server process; yields its base URL; stops it after."""
    process = subprocess.Popen([sys.executable, "-m", "tests.realworld.servers", "--latency", str(latency)],
                               cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            raise RuntimeError(f"the real-world server did not start (it printed {line!r})")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stats(base: str) -> dict:
    """Requests served and peak concurrency since the last call; resets both."""
    with urllib.request.urlopen(f"{base}/_stats", timeout=10) as response:
        return json.loads(response.read())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="local services for the real-world loops")
    parser.add_argument("--latency", type=float, default=0.01)
    args = parser.parse_args(argv)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.latency = args.latency
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    print("port", server.server_address[1], flush=True)
    sys.stdin.read()  # returns when the parent closes our stdin (or exits)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
