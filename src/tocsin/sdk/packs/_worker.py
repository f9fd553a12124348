"""``/metrics`` and ``/health`` on one port for worker processes that have no web app.

A change-stream consumer, a queue worker or a scheduler has nothing to mount
the exposition and health apps on; :func:`serve` gives it both, from a
background thread, bound to 127.0.0.1 unless told otherwise::

    from tocsin.sdk.health import Health, checks
    from tocsin.sdk.packs import serve

    server = serve(9464, health=Health(ready=[checks.tcp("nats", "127.0.0.1", 4222)]))
    # http://127.0.0.1:9464/metrics, /health, /health/live, /health/ready

It is :func:`tocsin.sdk.exposition.start_metrics_server` (one I/O thread, a
bounded render pool, deadlines and a connection cap) with the health paths as
extra routes; the answers are those of :class:`tocsin.sdk.health.EndpointConfig`
(status codes, details, ``application/health+json``): this module only wires them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.errors import ConfigurationError
from tocsin.sdk.exposition import (
    Auth,
    MetricsResponse,
    MetricsServer,
    Route,
    ServerLimits,
    start_metrics_server,
)
from tocsin.sdk.health import EndpointConfig, Health, Probe

__all__ = ["WorkerServer", "serve"]

_ALLOW = [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")]


def _health_route(endpoint: EndpointConfig, probe: Probe) -> Route:
    def answer(method: str, headers: Mapping[str, str]) -> MetricsResponse:
        if method not in ("GET", "HEAD"):
            return MetricsResponse(405, list(_ALLOW), b"method not allowed\n")
        response = endpoint.answer(endpoint.health.check_sync(probe), headers.get)
        return MetricsResponse(
            response.status, [("Content-Type", response.content_type), *response.headers], response.body
        )

    return answer


class WorkerServer:
    """The running server: ``port``, ``url`` (``/metrics``), ``health_url``, ``close()``; a with-block."""

    def __init__(self, server: MetricsServer, endpoint: EndpointConfig | None) -> None:
        self._server = server
        self._endpoint = endpoint
        self.addr = server.addr
        self.port = server.port

    @property
    def base_url(self) -> str:
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def health_url(self) -> str | None:
        return self.base_url + self._endpoint.path if self._endpoint is not None else None

    def close(self) -> None:
        """Stop serving and free the port (idempotent); the health runner's loop is stopped too."""
        self._server.close()
        if self._endpoint is not None:
            self._endpoint.health.close()

    def __enter__(self) -> WorkerServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WorkerServer({self.base_url})"


def serve(
    port: int = 9464,
    addr: str = "127.0.0.1",
    *,
    health: Health | None = None,
    registry: CollectorRegistry | None = None,
    auth: Auth | None = None,
    metrics_path: str = "/metrics",
    limits: ServerLimits | None = None,
    **health_options: Any,
) -> WorkerServer:
    """Serve ``/metrics`` and, given ``health``, ``/health`` (+ ``/live``, ``/ready``) on ``addr:port``.

    ``health_options`` are :class:`~tocsin.sdk.health.EndpointConfig`'s (``path``,
    ``details``, ``token_file``, ...). ``port=0`` picks a free port (read ``.port``).
    """
    endpoint = EndpointConfig(health, **health_options) if health is not None else None
    routes: dict[str, Route] = {}
    if endpoint is not None:
        if endpoint.probe_for(metrics_path) is not None:
            raise ConfigurationError(f"metrics path {metrics_path!r} is also a health path")
        routes = {path: _health_route(endpoint, probe) for path, probe in endpoint.routes.items()}
    server = start_metrics_server(
        port, addr, registry=registry, auth=auth, path=metrics_path, limits=limits, routes=routes
    )
    return WorkerServer(server, endpoint)
