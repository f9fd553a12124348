"""Minimal loopback HTTP/1.0 for the supervisor, on a plain socket.

The supervisor runs for as long as the stack does. httpx would add ~15 MB of RSS, and even
``http.client`` pulls in ``ssl`` and ``email``, all for a few ``GET /-/ready`` and silence copies to
127.0.0.1. Ten percent of the stack's memory budget is not worth that. HTTP/1.0 with
``Connection: close`` means no chunked bodies: read until EOF.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HTTPFailure", "json_request", "request"]


class HTTPFailure(OSError):
    """Could not talk to the component at all, or it answered with an error status."""


def request(method: str, url: str, payload: Any = None, timeout: float = 0.5) -> tuple[int, bytes]:
    """One request, JSON body if ``payload`` is given: ``(status, body)``, or HTTPFailure if unreachable."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    body = json.dumps(payload).encode() if payload is not None else b""
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    head = f"{method} {target} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if payload is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(head.encode() + b"\r\n" + body)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise HTTPFailure(f"{method} {url}: {exc}") from exc
    raw = b"".join(chunks)
    header, _, content = raw.partition(b"\r\n\r\n")
    try:
        status = int(header.split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise HTTPFailure(f"{method} {url}: not an HTTP answer: {raw[:80]!r}") from None
    return status, content


def json_request(method: str, url: str, payload: Any = None, timeout: float = 1.0) -> Any:
    """Like :func:`request` but a non-2xx status is an HTTPFailure and the answer is decoded JSON."""
    status, body = request(method, url, payload, timeout)
    if not 200 <= status < 300:
        raise HTTPFailure(f"{method} {url}: HTTP {status}: {body[:200].decode(errors='replace')}")
    return json.loads(body)
