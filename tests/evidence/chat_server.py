"""A local HTTP server that speaks just enough of the chat-completions API for the real
`openai` client: `POST /v1/chat/completions` answers with the last user message echoed.

It binds 127.0.0.1 on a free port, handles each request on its own thread, and — when
armed with `expect_overlap(n)` — makes each request wait on a `threading.Barrier(n)`, so
a client that sends its requests one at a time gets a 503 instead of an answer. It stops
when its context manager exits.
"""
from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        state = self.server.state
        with state["lock"]:
            state["requests"] += 1
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
            barrier = state["barrier"]
        try:
            if barrier is not None:
                barrier.wait()
            status, body = 200, _completion(request)
        except threading.BrokenBarrierError:
            status, body = 503, {"error": {"message": "requests did not overlap", "type": "test"}}
        finally:
            with state["lock"]:
                state["active"] -= 1
        if self.path.rstrip("/") != "/v1/chat/completions":
            status, body = 404, {"error": {"message": f"no route {self.path}", "type": "test"}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _completion(request) -> dict:
    last = request.get("messages", [{}])[-1].get("content", "")
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": request.get("model", "m"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": f"echo: {last}"}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@contextlib.contextmanager
def chat_server(expect_overlap: int | None = None, timeout: float = 10.0):
    """Run the server; yields (base_url, state). `state` counts requests and peak overlap."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.state = {"lock": threading.Lock(), "requests": 0, "active": 0, "peak": 0,
                    "barrier": threading.Barrier(expect_overlap, timeout=timeout) if expect_overlap else None}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout)
