"""Request ids for ASGI apps (Starlette, FastAPI, ...): a pure ASGI middleware.

::

    from tocsin.sdk.logging.asgi import RequestIdMiddleware
    app.add_middleware(RequestIdMiddleware)     # outermost, so every log line of the request has it

Each request gets the incoming ``X-Request-ID`` (when sane) or a new id,
bound in the log context for the request's task and echoed in the response.
Pure ASGI, not ``BaseHTTPMiddleware``, which runs the app in another task and
loses contextvars. Non-``http`` scopes pass straight through.
"""

from __future__ import annotations

from tocsin.sdk._types import ASGIApp, Message, Receive, Scope, Send

from ._request_id import REQUEST_ID_HEADER, bind_request_id, new_request_id, unbind_request_id

__all__ = ["RequestIdMiddleware"]


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
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            unbind_request_id(tokens)
