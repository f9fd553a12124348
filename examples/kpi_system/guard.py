"""API-key security for ``/api/*`` and ``/ws``: authentication, rate limiting, input inspection.

A pure ASGI middleware (never ``BaseHTTPMiddleware``), in this order:

1. **API key** from ``X-API-Key`` (or ``?key=`` for WebSocket handshakes, which browsers cannot give
   headers). Keys live in a file (``client:key`` per line, mode 0600, written by ``setup``) and are
   kept in memory as SHA-256 digests only, compared in constant time. A missing or unknown key is a
   401 (``kpi_security_auth_failures_total{reason}``; the key itself is never logged);
2. **rate limiting** of HTTP requests per client: a token bucket (``--rate`` requests a second,
   bursts of twice that). An empty bucket is a 429 with ``Retry-After``
   (``kpi_security_rate_limited_requests_total``). WebSocket handshakes are authenticated, not
   limited: a dashboard key opens one long-lived connection per viewer;
3. **inspection** of the query string and path: SQL injection, path traversal and script injection
   patterns are refused with a 400 and counted as intrusion attempts
   (``kpi_security_intrusion_attempts_total{kind}``, the seed's ``SecurityIntrusionAttempts``).
   The handlers sanitise what they keep (:func:`sanitize`: control characters, markup), counted
   by kind (``kpi_security_sanitized_inputs_total``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
from pathlib import Path

from tocsin.sdk._types import ASGIApp, Receive, Scope, Send
from tocsin.sdk.logging import get_logger
from tocsin.sdk.packs import Security

__all__ = ["Guard", "RateLimiter", "inspect", "load_keys", "sanitize"]

log = get_logger("kpi.security")

_PATTERNS = (
    ("sql_injection", re.compile(r"('|%27)\s*(or|and)\s+\S+\s*=|union\s+(all\s+)?select"
                                 r"|;\s*(drop|delete|insert|update)\s", re.IGNORECASE)),
    ("path_traversal", re.compile(r"\.\./|\.\.\\|%2e%2e[/%]", re.IGNORECASE)),
    ("xss", re.compile(r"<\s*script|javascript:|onerror\s*=", re.IGNORECASE)),
)  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"[<>\"'&]")


def load_keys(path: Path) -> dict[bytes, str]:
    """SHA-256 digest of each key → its client, from ``client:key`` lines (``#`` comments)."""
    keys: dict[bytes, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        client, sep, key = line.partition(":")
        if not sep or not client or len(key) < 16:
            raise ValueError(f"{path}:{number}: expected client:key with a key of 16 characters or more")
        keys[hashlib.sha256(key.encode()).digest()] = client
    if not keys:
        raise ValueError(f"{path}: no API key in it")
    return keys


def inspect(text: str) -> str | None:
    """The intrusion kind ``text`` (a decoded path or query) looks like, or None."""
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return kind
    return None


def sanitize(text: str, security: Security) -> str:
    """``text`` without control characters and markup characters, each removal counted by kind."""
    if _CONTROL.search(text):
        security.input_sanitized("control_chars")
        text = _CONTROL.sub("", text)
    if _MARKUP.search(text):
        security.input_sanitized("markup")
        text = _MARKUP.sub("", text)
    return text


class RateLimiter:
    """A token bucket per client: ``rate`` tokens a second, at most ``burst`` saved."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else 2 * rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            allowed = tokens >= 1
            self._buckets[client] = (tokens - 1 if allowed else tokens, now)
            return allowed


def _zero(security: Security) -> None:
    """Every series the guard can increment, at 0 from the start: dashboards show 0, not "no data",
    and ``rate()`` sees the first increment."""
    for outcome in ("success", "failure"):
        security.attempts.labels("api_key", outcome)
    for reason in ("missing_key", "invalid_key"):
        security.failures.labels("api_key", reason)
    security.limited.labels("api_key")
    for kind, _ in _PATTERNS:
        security.intrusions.labels(kind)
    for kind in ("control_chars", "markup"):
        security.sanitized.labels(kind)


class Guard:
    """The middleware (see the module docstring); ``scope["state"]["client"]`` names the caller."""

    def __init__(
        self, app: ASGIApp, *, keys: dict[bytes, str], limiter: RateLimiter, security: Security,
        protected: tuple[str, ...] = ("/api/", "/ws"),
    ) -> None:  # fmt: skip
        _zero(security)
        self.app, self.keys, self.limiter, self.security, self.protected = (
            app,
            keys,
            limiter,
            security,
            protected,
        )

    def _client(self, scope: Scope) -> tuple[str | None, str]:
        headers = dict(scope.get("headers") or ())
        key = headers.get(b"x-api-key", b"").decode("latin-1")
        if not key and scope["type"] == "websocket":
            query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
            key = (query.get("key") or [""])[0]
        if not key:
            return None, "missing_key"
        digest = hashlib.sha256(key.encode()).digest()
        for known, client in self.keys.items():
            if hmac.compare_digest(known, digest):
                return client, ""
        return None, "invalid_key"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(self.protected):
            await self.app(scope, receive, send)
            return
        source = (scope.get("client") or ("unknown", 0))[0]
        client, reason = self._client(scope)
        if client is None:
            self.security.auth_failed(reason, method="api_key", source=source)
            log.warning("auth_failed", reason=reason, source=source, path=scope["path"])
            await _refuse(scope, receive, send, 401, {"error": "a valid X-API-Key is required"})
            return
        self.security.auth_succeeded("api_key")
        if scope["type"] == "http" and not self.limiter.allow(client):
            self.security.rate_limited("api_key")
            log.info("rate_limited", client=client, path=scope["path"])
            await _refuse(scope, receive, send, 429, {"error": "rate limit exceeded"}, retry_after=1)
            return
        query = urllib.parse.unquote_plus(scope.get("query_string", b"").decode("latin-1"))
        kind = inspect(urllib.parse.unquote(scope["path"])) or inspect(query)
        if kind is not None:
            self.security.intrusion_attempt(kind)
            log.warning(
                "intrusion_attempt", kind=kind, client=client, source=source, path=scope["path"][:200]
            )
            await _refuse(scope, receive, send, 400, {"error": "request refused"})
            return
        scope.setdefault("state", {})["client"] = client
        await self.app(scope, receive, send)


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    body: dict[str, str],
    retry_after: int | None = None,
) -> None:
    if scope["type"] == "websocket":  # refuse the handshake: HTTP 403 from the server
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [(b"content-type", b"application/json")]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
