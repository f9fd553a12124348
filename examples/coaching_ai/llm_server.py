"""A small OpenAI-compatible server: the AI service's "OpenAI" here (nothing is fetched from outside).

``POST /v1/chat/completions`` answers as the OpenAI API does (``choices``, ``usage`` with prompt and
completion tokens: a token is counted per 0.75 word, as OpenAI's rule of thumb has it), after a
latency of 0.1 to 0.3 s; ``GET /v1/models`` lists the models. It is a real HTTP server (the standard
library's threading one), so the official ``openai`` client, its timeouts, its error classes and
tocsin's instrumentation run unchanged against it.

``GET/PUT /_control`` is how the faults act on it, as an upstream incident would: ``latency`` (seconds
added to every answer), ``error_rate`` (0 to 1: that share of the requests, spread evenly, fail with
``error_status``, 500 or 429) and ``completion_factor`` (answers that many times longer: a prompt
change that makes the model verbose). ``DELETE /_control`` puts it back to normal.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Behaviour", "serve"]

#: Ids and latency jitter. Not the random module's global state: the tests serve this on a thread,
#: and hypothesis fails a test whose global random state moves while it draws.
_RNG = random.Random()

MODELS = ("gpt-4o-mini", "gpt-4o")


class Behaviour:
    """What the server does now (the faults change it through ``/_control``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.latency = 0.0
            self.error_rate = 0.0
            self.error_status = 500
            self.completion_factor = 1
            self._served = 0
            self._failed = 0

    def update(self, changes: dict[str, Any]) -> None:
        with self._lock:
            self.latency = float(changes.get("latency", self.latency))
            self.error_rate = min(1.0, max(0.0, float(changes.get("error_rate", self.error_rate))))
            status = int(changes.get("error_status", self.error_status))
            if status not in (429, 500, 503):
                raise ValueError(f"error_status {status}: use 429, 500 or 503")
            self.error_status = status
            self.completion_factor = min(
                1000, max(1, int(changes.get("completion_factor", self.completion_factor)))
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "error_rate": self.error_rate,
            "error_status": self.error_status,
            "completion_factor": self.completion_factor,
        }

    def should_fail(self) -> bool:
        """Spread failures evenly: after n requests, round(n * error_rate) of them failed."""
        with self._lock:
            self._served += 1
            if self._failed < math.floor(self._served * self.error_rate + 1e-9):
                self._failed += 1
                return True
            return False


def _tokens(text: str) -> int:
    return max(1, round(len(text.split()) / 0.75))


def completion(body: dict[str, Any], factor: int) -> dict[str, Any]:
    """The answer to a chat completion request (deterministic for a given prompt)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages: a non-empty list is required")
    prompt = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    question = str(messages[-1].get("content", "")) if isinstance(messages[-1], dict) else ""
    words = [w for w in question.split() if len(w) > 3][:3] or ["training"]
    answer = f"Coach: for {' '.join(words)}, go easy and rest well."
    content = " ".join([answer] * factor)
    prompt_tokens, completion_tokens = _tokens(prompt), _tokens(content)
    return {
        "id": f"chatcmpl-{_RNG.getrandbits(48):012x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": f"{body.get('model', 'gpt-4o-mini')}-2024-07-18",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # no per-request stderr lines
        pass

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1_000_000:
            raise ValueError("body over 1 MB")
        data = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "code": None}})

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]})
        elif self.path == "/_control":
            self._send(200, self.server.behaviour.as_dict())
        elif self.path == "/health":
            self._send(200, {"status": "pass"})
        else:
            self._error(404, f"no route {self.path}", "invalid_request_error")

    def do_PUT(self) -> None:
        if self.path != "/_control":
            return self._error(404, f"no route {self.path}", "invalid_request_error")
        try:
            self.server.behaviour.update(self._body())
        except (ValueError, TypeError) as exc:
            return self._error(400, str(exc), "invalid_request_error")
        self._send(200, self.server.behaviour.as_dict())

    def do_DELETE(self) -> None:
        if self.path != "/_control":
            return self._error(404, f"no route {self.path}", "invalid_request_error")
        self.server.behaviour.reset()
        self._send(200, self.server.behaviour.as_dict())

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            return self._error(404, f"no route {self.path}", "invalid_request_error")
        behaviour = self.server.behaviour
        try:
            body = self._body()
            if body.get("model") not in MODELS:
                return self._error(
                    404, f"model {body.get('model')!r} does not exist", "invalid_request_error"
                )
            answer = completion(body, behaviour.completion_factor)
        except (ValueError, TypeError) as exc:
            return self._error(400, str(exc), "invalid_request_error")
        time.sleep(_RNG.uniform(0.1, 0.3) + behaviour.latency)
        if behaviour.should_fail():
            if behaviour.error_status == 429:
                return self._error(429, "Rate limit reached for requests", "requests")
            return self._error(
                behaviour.error_status, "The server had an error processing your request", "server_error"
            )
        self._send(200, answer)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.behaviour = Behaviour()


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve until interrupted."""
    server = _Server((host, port))
    print(f"OpenAI-compatible server on http://{host}:{port}/v1", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
