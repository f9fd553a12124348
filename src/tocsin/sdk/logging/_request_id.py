"""The request id: accepted from ``X-Request-ID`` when sane, generated otherwise, bound with contextvars.

The framework middlewares (``asgi``, ``wsgi``, ``django``) share this core. An
incoming id is kept only if it is short and made of safe characters: it ends up
in every log line and in a response header, so it must not carry log
injection or header splitting.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from contextvars import Token
from typing import Any

import structlog

__all__ = ["REQUEST_ID_HEADER", "bind_request_id", "get_request_id", "new_request_id", "unbind_request_id"]

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE = re.compile(r"^[A-Za-z0-9._:@/+=\-]{1,128}$")


def new_request_id(incoming: str | None = None) -> str:
    """``incoming`` if it is a safe id, else a new random one (32 hex characters)."""
    if incoming and _SAFE.match(incoming):
        return incoming
    return uuid.uuid4().hex


def bind_request_id(request_id: str) -> Mapping[str, Token[Any]]:
    """Clear the log context and bind ``request_id`` (tokens for :func:`unbind_request_id`).

    Clearing first matters for sync servers whose worker threads serve one
    request after another: nothing of the previous request may leak.
    """
    structlog.contextvars.clear_contextvars()
    return structlog.contextvars.bind_contextvars(request_id=request_id)


def unbind_request_id(tokens: Mapping[str, Token[Any]]) -> None:
    """Restore the context as it was before :func:`bind_request_id`."""
    structlog.contextvars.reset_contextvars(**tokens)


def get_request_id() -> str | None:
    """The request id bound in the current context, if any (to pass on to downstream calls)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None
