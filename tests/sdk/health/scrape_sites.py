"""Servers for the scrape-refresh tests: ``/metrics`` four ways, with a Health on the scraped registry.

``start(kind, pg_port)`` serves ``/metrics`` from a Health checking PostgreSQL at ``pg_port`` (a
:class:`TcpProxy` in front of the real one, so a test can take the database away) and the real Redis;
``refresh_min_interval=0`` so every scrape reruns the checks. Django runs in its own process.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from tocsin.sdk.exposition import make_asgi_app, make_wsgi_app, start_metrics_server
from tocsin.sdk.health import Health, checks
from tocsin.sdk.metrics import Metrics

KINDS = ["asgi-uvicorn", "flask-werkzeug", "django", "standalone"]
REDIS_URL = "redis://127.0.0.1:6379/0"
TIMEOUT = 0.5

Start = Callable[[str, int], str]


def scrape_health(pg_port: int, metrics: Metrics | None = None) -> Health:
    """The Health every site serves (also imported by ``scrape_django_site.py``)."""
    ready = [
        checks.sql("database", f"postgresql://postgres@127.0.0.1:{pg_port}/test"),
        checks.redis("cache", REDIS_URL, critical=False),
    ]
    return Health(ready, timeout=TIMEOUT, cache_ttl=0, refresh_min_interval=0, metrics=metrics)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a real server until :meth:`close` (then the port refuses)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="test-tcp-proxy", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)
        with self._lock:
            for s in self._open:
                s.close()
            self._open.clear()


def start_sites() -> Iterator[Start]:
    stops: list[Callable[[], None]] = []

    def start(kind: str, pg_port: int) -> str:
        if kind == "django":
            return _django(pg_port, stops)
        registry = CollectorRegistry()
        health = scrape_health(pg_port, Metrics(None, registry=registry))
        stops.append(health.close)
        if kind == "standalone":
            server = start_metrics_server(0, registry=registry)
            stops.append(server.close)
            return server.url
        if kind == "asgi-uvicorn":
            from starlette.applications import Starlette
            from starlette.routing import Route
            from tests.conftest import serve_uvicorn

            app = Starlette(routes=[Route("/metrics", make_asgi_app(registry))])
            url, stop = serve_uvicorn(app)
            stops.append(stop)
            return url + "/metrics"
        assert kind == "flask-werkzeug", kind
        import flask
        from werkzeug.middleware.dispatcher import DispatcherMiddleware
        from werkzeug.serving import make_server

        flask_app = flask.Flask("scrape-test")
        flask_app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
            flask_app.wsgi_app, {"/metrics": make_wsgi_app(registry)}
        )
        wsgi = make_server("127.0.0.1", 0, flask_app, threaded=True)
        thread = threading.Thread(target=wsgi.serve_forever, daemon=True)
        thread.start()
        stops.append(lambda: (wsgi.shutdown(), thread.join(), wsgi.server_close()))
        return f"http://127.0.0.1:{wsgi.port}/metrics"

    yield start
    for stop in reversed(stops):
        stop()


def _django(pg_port: int, stops: list[Callable[[], None]]) -> str:
    from tests.conftest import serve_script, wait_for

    port, stop = serve_script(Path(__file__).with_name("scrape_django_site.py"), str(pg_port))
    stops.append(stop)
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for(lambda: httpx.get(url, timeout=5).status_code == 200, what="django site")
    return url
