"""Health endpoints for any ASGI app (Starlette, FastAPI, Quart, ...): a pure ASGI middleware.

::

    from tocsin.sdk.health.asgi import HealthMiddleware
    app.add_middleware(HealthMiddleware, health=health)   # Starlette / FastAPI
    app = HealthMiddleware(app, health=health)             # any ASGI app

It answers ``GET``/``HEAD`` on ``/health`` (every check), ``/health/live`` and
``/health/ready`` and passes everything else, and every non-``http`` scope,
straight through. No framework is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tocsin.sdk._asgi import serve_lifespan
from tocsin.sdk._types import ASGIApp, Receive, Scope, Send

from ._endpoint import EndpointConfig, EndpointOptions, Response
from ._runner import Health

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["HealthMiddleware", "health_app"]

_ALLOW = (("allow", "GET, HEAD"),)


class HealthMiddleware:
    """Serves the health paths in front of ``app``. Keyword arguments are :class:`EndpointConfig`'s."""

    def __init__(self, app: ASGIApp, *, health: Health, **config: Unpack[EndpointOptions]) -> None:
        self.app = app
        self.config = EndpointConfig(health, **config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        probe = self.config.probe_for(scope["path"])
        if probe is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _send(send, Response(405, "text/plain", b"method not allowed\n", _ALLOW), True)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        report = await self.config.health.check(probe)
        response = self.config.answer(report, headers.get)
        await _send(send, response, scope["method"] == "GET")


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await serve_lifespan(receive, send)
        return
    await _send(send, Response(404, "text/plain", b"not found\n"), True)


def health_app(health: Health, **config: Unpack[EndpointOptions]) -> HealthMiddleware:
    """A stand-alone ASGI app serving only the health paths (404 elsewhere), e.g. on a separate port."""
    return HealthMiddleware(_not_found, health=health, **config)


async def _send(send: Send, response: Response, with_body: bool) -> None:
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
    ]
    headers += [(k.encode(), v.encode()) for k, v in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body if with_body else b""})
