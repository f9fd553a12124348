"""Real servers for the exposition tests: standalone, ASGI under uvicorn, WSGI under werkzeug, Django.

``serve(kind, auth_spec)`` starts one and returns the URL of its metrics page.
Every kind exposes a counter ``exposition_test_total`` with value 3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from tests.conftest import serve_script, serve_uvicorn, wait_for

from tocsin.sdk.exposition import Auth, make_asgi_app, make_wsgi_app, start_metrics_server

KINDS = ["standalone", "asgi-uvicorn", "wsgi-werkzeug", "django"]
PASSWORD = "s3cret-Pa55word"
TOKEN = "tok-0123456789abcdef"

Serve = Callable[[str, str], str]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("exposition_test", "Requests seen by the test site", registry=registry).inc(3)
    return registry


def _auth(spec: str, token_file: Path) -> Auth | None:
    if spec == "none":
        return None
    if spec == "basic-env":
        return Auth.basic(username="prometheus", password_env="METRICS_PASSWORD")
    assert spec == "bearer-file"
    return Auth.bearer(token_file=token_file)


def start_servers(monkeypatch: pytest.MonkeyPatch, token_file: Path) -> Iterator[Serve]:
    """The body of the ``serve`` fixture: starts servers on demand, stops them all at the end."""
    monkeypatch.setenv("METRICS_PASSWORD", PASSWORD)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    stops: list[Callable[[], None]] = []

    def start(kind: str, auth_spec: str) -> str:
        if kind == "django":
            return _django(auth_spec, token_file, stops)
        auth = _auth(auth_spec, token_file)
        if kind == "standalone":
            server = start_metrics_server(0, registry=_registry(), auth=auth)
            stops.append(server.close)
            return server.url
        if kind == "asgi-uvicorn":
            return _uvicorn(make_asgi_app(_registry(), auth=auth), stops)
        assert kind == "wsgi-werkzeug"
        from werkzeug.serving import make_server

        wsgi = make_server("127.0.0.1", 0, make_wsgi_app(_registry(), auth=auth), threaded=True)
        thread = threading.Thread(target=wsgi.serve_forever, daemon=True)
        thread.start()
        stops.append(lambda: (wsgi.shutdown(), thread.join()))
        return f"http://127.0.0.1:{wsgi.port}/metrics"

    yield start
    for stop in reversed(stops):
        stop()


def _uvicorn(app: object, stops: list[Callable[[], None]]) -> str:
    url, stop = serve_uvicorn(app, lifespan="on")
    stops.append(stop)
    return url + "/metrics"


def _django(auth_spec: str, token_file: Path, stops: list[Callable[[], None]]) -> str:
    spec = f"bearer-file:{token_file}" if auth_spec == "bearer-file" else auth_spec
    port, stop = serve_script(Path(__file__).with_name("django_site.py"), spec)
    stops.append(stop)
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for(lambda: httpx.get(url, timeout=1).status_code in (200, 401), what="django site")
    return url
