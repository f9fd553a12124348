"""A standalone ``/metrics`` server on its own port: threaded, bound to 127.0.0.1, stoppable.

Why its own port: the metrics stay off the public listener (no route to
exclude from the app's middleware, no auth to get right on the app's port);
Prometheus scrapes the private one.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.errors import ConfigurationError, StackError

from ._auth import Auth
from ._core import Exposition, MetricsResponse

__all__ = ["MetricsServer", "start_metrics_server"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: Prometheus reuses its connection
    timeout = 60  # seconds an idle keep-alive connection may hold a thread

    def _answer(self) -> None:
        path, _, query = self.path.partition("?")
        if _normalised(path) != self.server.metrics_path:
            response = MetricsResponse(404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n")
            response.headers.append(("Content-Length", str(len(response.body))))
        else:
            response = self.server.exposition.respond(
                self.command,
                authorization=self.headers.get("Authorization"),
                accept=self.headers.get("Accept"),
                accept_encoding=self.headers.get("Accept-Encoding"),
                query_string=query,
            )
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in response.headers):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a scrape every few seconds is noise, and request lines must never carry secrets."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    exposition: Exposition
    metrics_path: str


class _Server6(_Server):
    address_family = socket.AF_INET6


def _normalised(path: str) -> str:
    return path.rstrip("/") or "/"


class MetricsServer:
    """A running metrics server: ``port`` (the real one when 0 was asked), ``url``, ``close()``.

    Also a context manager: ``with start_metrics_server(0) as server: ...``.
    """

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.addr: str = str(server.server_address[0])
        self.port: int = int(server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"http://{host}:{self.port}{self._server.metrics_path}"

    def close(self) -> None:
        """Stop serving and free the port (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MetricsServer({self.url})"


def start_metrics_server(
    port: int = 9464,
    addr: str = "127.0.0.1",
    *,
    registry: CollectorRegistry | None = None,
    auth: Auth | None = None,
    path: str = "/metrics",
    gzip: bool = True,
    multiprocess: bool | None = None,
) -> MetricsServer:
    """Serve ``path`` on ``addr:port`` from a background thread; returns the running server.

    Binds to 127.0.0.1 unless told otherwise: exposing metrics to the network
    (``addr="0.0.0.0"``) is a choice, best made with ``auth=``. ``port=0``
    picks a free port (read it from ``.port``).
    """
    if not path.startswith("/"):
        raise ConfigurationError(f"metrics path {path!r} must start with '/'")
    exposition = Exposition(registry, auth=auth, gzip=gzip, multiprocess=multiprocess)
    server_class = _Server6 if ":" in addr else _Server
    try:
        server = server_class((addr, port), _Handler)
    except OSError as err:
        raise StackError(f"cannot listen on {addr}:{port}: {err.strerror} (choose another port)") from None
    server.exposition = exposition
    server.metrics_path = _normalised(path)
    thread = threading.Thread(target=server.serve_forever, name=f"tocsin-metrics-{port}", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
