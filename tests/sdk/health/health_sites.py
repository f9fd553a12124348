"""The same health set-ups served by uvicorn (ASGI), werkzeug (Flask) and Django, for the endpoint tests.

``build(case, ports)`` makes the :class:`Health` of a case; ``health_django_site.py``
imports it too, so all three servers answer for the same checks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tocsin.sdk.health import Check, Health, checks

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
SECRET = "s3cret"
TOKEN = "health-token-0123456789"
TIMEOUT = 0.5
KINDS = ["asgi-uvicorn", "flask-werkzeug", "django"]

Serve = Callable[[str, dict[str, int]], str]


def build(
    case: str, ports: dict[str, int], extra: list[Check] | None = None
) -> tuple[Health, dict[str, Any]]:
    """The checks and endpoint options of one test case."""
    ready: list[Check] = [
        checks.sql("database", PG_DSN),
        checks.redis("cache", REDIS_URL, critical=False),
        checks.disk(path="/", min_free_percent=0),
        checks.memory(max_used_percent=100),
        *(extra or []),
    ]
    options: dict[str, Any] = {"token": TOKEN, "service": "bookshop", "version": "1.2.3"}
    if case == "silent":
        ready.append(checks.sql("orders-db", f"postgresql://app:{SECRET}@127.0.0.1:{ports['silent']}/db"))
    elif case in ("redis-down", "redis-down-critical"):
        url = f"redis://:{SECRET}@127.0.0.1:{ports['closed']}/0"
        ready.append(checks.redis("sessions", url, critical=case == "redis-down-critical"))
    elif case == "leaky":
        ready.append(checks.sql("orders-db", f"postgresql://app:{SECRET}@[127.0.0.1:{ports['closed']}/db"))
        ready.append(checks.sql("archive-db", f"postgresql://app:{SECRET}@127.0.0.1:{ports['closed']}/db"))
        options["details"] = "always"
    else:
        assert case == "healthy", case
    return Health(ready, timeout=TIMEOUT, cache_ttl=0), options


def start_servers() -> Iterator[Serve]:
    stops: list[Callable[[], None]] = []

    def start(kind: str, case: str, ports: dict[str, int]) -> str:
        if kind == "django":
            return _django(case, ports, stops)
        health, options = build(case, ports)
        stops.append(health.close)
        if kind == "asgi-uvicorn":
            from starlette.applications import Starlette
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route

            from tocsin.sdk.health.asgi import HealthMiddleware

            app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("home"))])
            app.add_middleware(HealthMiddleware, health=health, **options)
            return _uvicorn(app, stops)
        assert kind == "flask-werkzeug"
        import flask
        from werkzeug.serving import make_server

        from tocsin.sdk.health.flask import init_app

        flask_app = flask.Flask("health-test")
        init_app(flask_app, health, **options)
        server = make_server("127.0.0.1", 0, flask_app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stops.append(lambda: (server.shutdown(), thread.join(), server.server_close()))
        return f"http://127.0.0.1:{server.port}"

    yield start  # type: ignore[misc]
    for stop in reversed(stops):
        stop()


def _uvicorn(app: object, stops: list[Callable[[], None]]) -> str:
    from tests.conftest import serve_uvicorn

    url, stop = serve_uvicorn(app)
    stops.append(stop)
    return url


def _django(case: str, ports: dict[str, int], stops: list[Callable[[], None]]) -> str:
    from tests.conftest import serve_script, wait_for

    port, stop = serve_script(Path(__file__).with_name("health_django_site.py"), case, json.dumps(ports))
    stops.append(stop)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(url + "/health/live", timeout=2).status_code == 200, what="django site")
    return url
