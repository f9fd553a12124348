"""Minimal loopback HTTP for the supervisor: stdlib only.

The supervisor runs for as long as the stack does; httpx would add ~15 MB of RSS to it for a handful of
``GET /-/ready`` and silence copies, which is a tenth of the stack's whole memory budget.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HTTPFailure", "request"]


class HTTPFailure(OSError):
    """Could not talk to the component at all, or it answered with an error status."""


def request(method: str, url: str, payload: Any = None, timeout: float = 0.5) -> tuple[int, bytes]:
    """One request, JSON body if ``payload`` is given: ``(status, body)``, or HTTPFailure if unreachable."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    body = json.dumps(payload).encode() if payload is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise HTTPFailure(f"{method} {url}: {exc}") from exc
    finally:
        conn.close()


def json_request(method: str, url: str, payload: Any = None, timeout: float = 1.0) -> Any:
    """Like :func:`request` but a non-2xx status is an HTTPFailure and the answer is decoded JSON."""
    status, body = request(method, url, payload, timeout)
    if not 200 <= status < 300:
        raise HTTPFailure(f"{method} {url}: HTTP {status}: {body[:200].decode(errors='replace')}")
    return json.loads(body)
