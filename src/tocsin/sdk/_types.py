"""ASGI and WSGI types shared by the SDK's framework-free middleware and apps.

Spelled out here rather than imported from Starlette so that no SDK module
needs a web framework installed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

__all__ = [
    "ASGIApp",
    "Environ",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "StartResponse",
    "WSGIApp",
    "close_body",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def close_body(body: Iterable[bytes]) -> None:
    """Close a WSGI response iterable if it can be closed (PEP 3333: the server must call it)."""
    close = getattr(body, "close", None)
    if close is not None:
        close()
