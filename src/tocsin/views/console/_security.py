"""Who may use the console: pure ASGI middleware for the Host check, optional auth and POST tokens.

- **Host check**: only ``127.0.0.1``/``localhost``/``::1`` and the bound host are accepted, so a web page
  cannot reach the console through DNS rebinding.
- **Auth** (optional, none by default; there is never a default password): HTTP Basic or Bearer exactly as
  for ``/metrics`` (:class:`tocsin.sdk.exposition.Auth`: secrets from files, constant-time compare).
  ``/-/ready`` and ``/-/healthy`` stay open for the supervisor; they reveal nothing.
- **Forms** (silences): every POST carries the process's random token and, when the browser sends an
  ``Origin``, it must be the console's own, so another site cannot create or expire silences.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

__all__ = ["Guard", "new_token"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_OPEN = ("/-/ready", "/-/healthy")


class AuthCheck(Protocol):
    challenge: str

    def check(self, authorization: str | None) -> bool: ...


def new_token() -> str:
    return secrets.token_urlsafe(24)


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Host check, then auth, then the app; non-HTTP scopes (lifespan) pass straight through."""

    def __init__(self, app: ASGIApp, *, hosts: set[str], auth: AuthCheck | None) -> None:
        self.app, self.hosts, self.auth = app, hosts, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        if name.strip("[]") not in self.hosts:
            await _plain(send, 400, f"unexpected Host header {host!r} (open the console on 127.0.0.1)\n")
            return
        if (
            self.auth is not None
            and scope["path"] not in _OPEN
            and not self.auth.check(headers.get("authorization"))
        ):
            await _plain(
                send, 401, "credentials required\n", [(b"www-authenticate", self.auth.challenge.encode())]
            )
            return
        await self.app(scope, receive, send)
