"""Request ids for ASGI apps (Starlette, FastAPI, ...): a pure ASGI middleware.

::

    from tocsin.sdk.logging.asgi import add_request_ids
    add_request_ids(app)                        # Starlette / FastAPI: outside everything, even errors

    app = RequestIdMiddleware(app)              # any other ASGI app

Each request gets the incoming ``X-Request-ID`` (when sane) or a new id,
bound in the log context for the request's task and echoed in the response.
Pure ASGI, not ``BaseHTTPMiddleware``, which runs the app in another task and
loses contextvars. Non-``http`` scopes pass straight through.

When an exception escapes the app, the id stays bound: the server logs the
traceback after the app returned, in the request's own task, and that line
carries the id too. The 500 that Starlette sends then comes from its
``ServerErrorMiddleware``, which sits outside ``app.add_middleware(...)``
middleware: :func:`add_request_ids` puts this one outside it, so that the 500
carries the header as well.
"""

from __future__ import annotations

from typing import Any, TypeVar

from tocsin.errors import ConfigurationError
from tocsin.sdk._types import ASGIApp, Message, Receive, Scope, Send

from ._request_id import REQUEST_ID_HEADER, bind_request_id, new_request_id, unbind_request_id

__all__ = ["RequestIdMiddleware", "add_request_ids"]

_App = TypeVar("_App")


class RequestIdMiddleware:
    """Binds ``request_id`` for each HTTP request and echoes it in the response header."""

    def __init__(self, app: ASGIApp, *, header: str = REQUEST_ID_HEADER) -> None:
        self.app = app
        self.header = header
        self._raw_header = header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", ()):
            if key == self._raw_header:
                incoming = value.decode("latin-1")
                break
        request_id = new_request_id(incoming)
        raw_id = request_id.encode("latin-1")
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != self._raw_header]
                headers.append((self._raw_header, raw_id))
                message["headers"] = headers
            await send(message)

        tokens = bind_request_id(request_id)
        # Not unbound when the app raises: the server's traceback line comes after, in this context
        # (each request runs in a task of its own; the next bind clears the context first).
        await self.app(scope, receive, send_with_id)
        unbind_request_id(tokens)


def add_request_ids(app: _App, *, header: str = REQUEST_ID_HEADER) -> _App:
    """Give every request of a Starlette or FastAPI ``app`` a request id, outside all its middleware.

    Unlike ``app.add_middleware(RequestIdMiddleware)``, the 500 that Starlette answers for an
    uncaught exception carries the header too. Call it before the app serves; it returns ``app``.
    """
    build: Any = getattr(app, "build_middleware_stack", None)
    if build is None:
        raise ConfigurationError(
            f"add_request_ids() needs a Starlette or FastAPI app, got {type(app).__name__} "
            "(wrap any other ASGI app instead: app = RequestIdMiddleware(app))"
        )
    if getattr(app, "middleware_stack", None) is not None:
        raise ConfigurationError(
            "add_request_ids(app) must be called before the app serves its first request"
        )

    def build_with_ids() -> ASGIApp:
        return RequestIdMiddleware(build(), header=header)

    app.build_middleware_stack = build_with_ids  # type: ignore[attr-defined]
    return app
