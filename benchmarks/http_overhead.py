"""Microseconds each HTTP metrics middleware adds per request, tocsin against its peers, in one run.

In-process, no network, timed in CPU time of the process (other load on the
machine does not count): the ASGI app is called directly with a minimal
``receive``/``send`` (the event loop turns once between requests, as a server's
does: work a middleware defers with ``call_soon`` is counted), the WSGI app
with a minimal ``environ``/``start_response`` (the body iterated and closed).
Every variant is timed in the same rounds, interleaved; a variant's overhead is
the median over rounds of (its time per request - the bare app's in that
round). The request goes to the last of the routes, with a path parameter:
peers that match the path again pay for every route before it.

Peers: prometheus-fastapi-instrumentator, starlette_exporter, OpenTelemetry ASGI
(metrics only: an SDK MeterProvider, a no-op tracer), prometheus-flask-exporter,
django-prometheus. Writes ``benchmarks/results/http_overhead.json`` and the table
in ``docs/performance.md``. Run: ``.venv/bin/python benchmarks/http_overhead.py``.
"""

from __future__ import annotations

import asyncio
import gc
import io
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results

ROUNDS = 13
ASGI_REQUESTS = 1500
WSGI_REQUESTS = 1500
# CPU time of this process: on a shared machine, time spent descheduled is not the app's.
_clock = time.process_time
DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
START, END = "<!-- http_overhead:start -->", "<!-- http_overhead:end -->"

# ---------------------------------------------------------------- ASGI apps


def _starlette(n_routes: int, middleware: Callable[[Any], Any] | None) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def endpoint(request: Any) -> Any:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route(f"/r{i}/{{item_id}}", endpoint) for i in range(n_routes)])
    return middleware(app) if middleware else app


def _fastapi(n_routes: int, middleware: Callable[[Any], Any] | None) -> Any:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()
    for i in range(n_routes):

        async def endpoint(item_id: str) -> PlainTextResponse:
            return PlainTextResponse("ok")

        app.add_api_route(f"/r{i}/{{item_id}}", endpoint, methods=["GET"], name=f"r{i}")
    return middleware(app) if middleware else app


def _tocsin_asgi(app: Any) -> Any:
    from prometheus_client import CollectorRegistry

    from tocsin.sdk.http import PrometheusMiddleware
    from tocsin.sdk.metrics import Metrics

    app.add_middleware(PrometheusMiddleware, metrics=Metrics(registry=CollectorRegistry()))
    return app


def _instrumentator(app: Any) -> Any:
    from prometheus_client import CollectorRegistry
    from prometheus_fastapi_instrumentator import Instrumentator

    Instrumentator(registry=CollectorRegistry()).instrument(app)
    return app


def _starlette_exporter(app: Any) -> Any:
    from starlette_exporter import PrometheusMiddleware

    app.add_middleware(PrometheusMiddleware)
    return app


def _otel(app: Any) -> Any:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.trace import NoOpTracerProvider

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    app.add_middleware(OpenTelemetryMiddleware, meter_provider=provider, tracer_provider=NoOpTracerProvider())
    return app


ASGI_VARIANTS: dict[str, Callable[[Any], Any] | None] = {
    "bare": None,
    "tocsin": _tocsin_asgi,
    "prometheus-fastapi-instrumentator": _instrumentator,
    "starlette_exporter": _starlette_exporter,
    "opentelemetry-asgi": _otel,
}


async def _asgi_round(app: Any, path: str, n: int) -> float:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        pass

    sleep = asyncio.sleep
    gc.collect()
    started = _clock()
    for _ in range(n):
        await app(dict(scope), receive, send)
        await sleep(0)
    return (_clock() - started) / n * 1e6


def bench_asgi(framework: str, n_routes: int) -> dict[str, float]:
    build = _starlette if framework == "starlette" else _fastapi
    apps = {name: build(n_routes, mw) for name, mw in ASGI_VARIANTS.items()}
    path = f"/r{n_routes - 1}/42"

    async def run() -> dict[str, list[float]]:
        per_round: dict[str, list[float]] = {name: [] for name in apps}
        for app in apps.values():  # warm up: lazy middleware stacks, label children
            await _asgi_round(app, path, 200)
        for _ in range(ROUNDS):
            for name, app in apps.items():
                per_round[name].append(await _asgi_round(app, path, ASGI_REQUESTS))
        return per_round

    return _overheads(asyncio.run(run()))


# ---------------------------------------------------------------- WSGI apps


def _environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "wsgi.errors": sys.stderr,
    }  # fmt: skip


def _wsgi_round(app: Any, path: str, n: int) -> float:
    base = _environ(path)

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        return lambda data: None

    gc.collect()
    started = _clock()
    for _ in range(n):
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = app(environ, start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (_clock() - started) / n * 1e6


def _flask(n_routes: int, variant: str) -> Any:
    from flask import Flask
    from prometheus_client import CollectorRegistry

    app = Flask(f"bench_{variant}")
    for i in range(n_routes):
        app.add_url_rule(f"/r{i}/<item_id>", f"r{i}", lambda item_id: "ok")
    if variant == "tocsin":
        from tocsin.sdk.http import instrument_flask
        from tocsin.sdk.metrics import Metrics

        instrument_flask(app, metrics=Metrics(registry=CollectorRegistry()))
    elif variant == "prometheus-flask-exporter":
        from prometheus_flask_exporter import PrometheusMetrics

        PrometheusMetrics(app, registry=CollectorRegistry())
    return app


def _django(n_routes: int, variant: str) -> Any:
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="bench-only-not-a-secret",
            INSTALLED_APPS=["django_prometheus"], MIDDLEWARE=[], LOGGING_CONFIG=None,
        )  # fmt: skip
        import django

        django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpResponse
    from django.urls import clear_url_caches, path

    global urlpatterns
    urlpatterns = [
        path(f"r{i}/<str:item_id>/", lambda request, item_id: HttpResponse("ok")) for i in range(n_routes)
    ]
    clear_url_caches()
    settings.MIDDLEWARE = {
        "bare": [],
        "tocsin": ["tocsin.sdk.http.django.PrometheusMiddleware"],
        "django-prometheus": [
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ],
    }[variant]
    return WSGIHandler()


urlpatterns: list[Any] = []


def bench_wsgi(framework: str, n_routes: int) -> dict[str, float]:
    if framework == "flask":
        variants = ["bare", "tocsin", "prometheus-flask-exporter"]
        apps = {v: _flask(n_routes, v) for v in variants}
        path = f"/r{n_routes - 1}/42"
    else:
        variants = ["bare", "tocsin", "django-prometheus"]
        apps = {v: _django(n_routes, v) for v in variants}  # same urlpatterns for all three
        path = f"/r{n_routes - 1}/42/"
    per_round: dict[str, list[float]] = {name: [] for name in apps}
    for app in apps.values():
        _wsgi_round(app, path, 200)
    for _ in range(ROUNDS):
        for name, app in apps.items():
            per_round[name].append(_wsgi_round(app, path, WSGI_REQUESTS))
    return _overheads(per_round)


# ---------------------------------------------------------------- report


def _overheads(per_round: dict[str, list[float]]) -> dict[str, float]:
    """``bare`` as µs/request; every other variant as µs added (median of per-round differences)."""
    bare = per_round["bare"]
    out = {"bare_us_per_request": round(statistics.median(bare), 2)}
    for name, times in per_round.items():
        if name != "bare":
            out[name] = round(statistics.median(t - b for t, b in zip(times, bare, strict=True)), 2)
    return out


def _table(results: dict[str, dict[str, float]], targets: dict[str, bool]) -> str:
    """Markdown: one table for ASGI apps, one for WSGI apps; each peer as µs added and × tocsin."""
    out: list[str] = []
    for kind in ("asgi", "wsgi"):
        rows = {
            k: v
            for k, v in results.items()
            if (k.split("-")[0] in ("starlette", "fastapi")) == (kind == "asgi")
        }
        peers = list(
            dict.fromkeys(p for v in rows.values() for p in v if p not in ("bare_us_per_request", "tocsin"))
        )
        header = ["app", "routes", "bare app, µs/request", "**tocsin adds**", *(f"{p} adds" for p in peers)]
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(header) - 2)]
        for key, figures in rows.items():
            framework, routes = key.rsplit("-", 1)
            tocsin = figures["tocsin"]
            cells = [framework, routes, f"{figures['bare_us_per_request']}", f"**{tocsin} µs**"]
            for peer in peers:
                added = figures.get(peer)
                cells.append("" if added is None else f"{added} µs ({added / max(tocsin, 0.01):.1f}×)")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out.append(
        "Targets: " + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in targets.items()) + "."
    )
    return "\n".join(out)


def _write_doc(table: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    section = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def _targets(results: dict[str, dict[str, float]]) -> dict[str, bool]:
    """The issue's targets, each checked on the figures of this run."""
    added = {key: figures["tocsin"] for key, figures in results.items()}
    return {
        "starlette adds <= 5 us": max(added["starlette-1"], added["starlette-50"]) <= 5,
        "fastapi adds <= 5 us": max(added["fastapi-1"], added["fastapi-50"]) <= 5,
        "flat from 1 to 50 routes (within 1 us)": all(
            abs(added[f"{fw}-50"] - added[f"{fw}-1"]) <= 1 for fw in ("starlette", "fastapi")
        ),
        "flask adds <= 15 us": added["flask-50"] <= 15,
        "django adds <= half of django-prometheus": added["django-50"]
        <= results["django-50"]["django-prometheus"] / 2,
    }


def main() -> int:
    results: dict[str, dict[str, float]] = {}
    for framework in ("starlette", "fastapi"):
        for n_routes in (1, 50):
            results[f"{framework}-{n_routes}"] = bench_asgi(framework, n_routes)
            print(f"{framework:9} {n_routes:2} routes: {results[f'{framework}-{n_routes}']}", flush=True)
    for framework in ("flask", "django"):
        results[f"{framework}-50"] = bench_wsgi(framework, 50)
        print(f"{framework:9} 50 routes: {results[f'{framework}-50']}", flush=True)
    targets = _targets(results)
    path = write_results(
        "http_overhead",
        {
            "unit": "microseconds added per request over the bare app (bare: µs per request)",
            "rounds": ROUNDS,
            "requests_per_round": {"asgi": ASGI_REQUESTS, "wsgi": WSGI_REQUESTS},
            "results": results,
            "targets_met": targets,
        },
    )
    _write_doc(_table(results, targets))
    print(f"targets: {targets}\nwrote {path} and the table in {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
