"""``/metrics`` as a WSGI app and as a pure ASGI app, both thin shells over :class:`Exposition`.

Mount them where the framework mounts apps (Flask ``DispatcherMiddleware``,
Starlette ``Mount("/metrics", app)``, FastAPI ``app.mount``), or serve them
as they are. Neither imports a framework.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk._asgi import serve_lifespan
from tocsin.sdk._types import ASGIApp, Receive, Scope, Send, WSGIApp

from ._auth import Auth
from ._core import Exposition, MetricsResponse

__all__ = ["make_asgi_app", "make_wsgi_app"]


def make_wsgi_app(
    registry: CollectorRegistry | None = None,
    *,
    auth: Auth | None = None,
    gzip: bool = True,
    multiprocess: bool | None = None,
) -> WSGIApp:
    """A WSGI app answering every request with the metrics page (see :class:`Exposition`)."""
    exposition = Exposition(registry, auth=auth, gzip=gzip, multiprocess=multiprocess)

    def metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = exposition.respond(
            environ.get("REQUEST_METHOD", "GET"),
            authorization=environ.get("HTTP_AUTHORIZATION"),
            accept=environ.get("HTTP_ACCEPT"),
            accept_encoding=environ.get("HTTP_ACCEPT_ENCODING"),
            query_string=environ.get("QUERY_STRING", ""),
            scrape_timeout=environ.get("HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"),
        )
        start_response(response.status_line, response.headers)
        return [response.body]

    return metrics_app


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _send_response(send: Send, response: MetricsResponse) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class _MetricsASGIApp:
    """An ASGI app object (not a function), so Starlette's ``Route("/metrics", app)`` treats it as ASGI."""

    def __init__(self, exposition: Exposition) -> None:
        self.exposition = exposition

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets have no metrics page; closing the scope refuses them
        from anyio import to_thread  # lazily: importing the package must stay light

        method, authorization = scope.get("method", "GET"), _header(scope, b"authorization")
        if self.exposition.refreshes and self.exposition.refused(method, authorization) is None:
            # health checks run on this loop, never blocking it
            await self.exposition.refresh(_header(scope, b"x-prometheus-scrape-timeout-seconds"))
        response = await to_thread.run_sync(
            lambda: self.exposition.respond(
                method,
                authorization=authorization,
                accept=_header(scope, b"accept"),
                accept_encoding=_header(scope, b"accept-encoding"),
                query_string=bytes(scope.get("query_string", b"")).decode("latin-1"),
                refresh=False,
            )
        )
        await _send_response(send, response)


def make_asgi_app(
    registry: CollectorRegistry | None = None,
    *,
    auth: Auth | None = None,
    gzip: bool = True,
    multiprocess: bool | None = None,
) -> ASGIApp:
    """A pure ASGI app answering every HTTP request with the metrics page (see :class:`Exposition`).

    Rendering (reading the multiprocess files, compressing) runs in a worker
    thread so a large page does not stall the event loop; health checks due for
    a refresh are awaited on the loop before that. In Starlette or
    FastAPI, ``Route("/metrics", make_asgi_app())`` serves exactly
    ``/metrics``; ``app.mount("/metrics", ...)`` answers on ``/metrics/``
    (with a redirect from ``/metrics``, which Prometheus follows).
    """
    return _MetricsASGIApp(Exposition(registry, auth=auth, gzip=gzip, multiprocess=multiprocess))
