"""The frontend pack: the beacon in headless Chromium against the endpoint, and hostile reports."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from tests.conftest import serve_uvicorn, wait_for

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Frontend
from tocsin.sdk.packs.frontend import MAX_BODY, normalise_path
from tocsin.testing import sample_value, samples

PAGE = """<!doctype html><html><head><title>Book</title>
<script src="/_tocsin/rum" data-quiet-ms="300" data-flush-ms="500" defer></script></head>
<body><h1>A book</h1><p>Some text so that something is painted.</p>
<script>
  window.addEventListener("load", function () {
    setTimeout(function () {
      fetch("/api/books/42").then(function (r) { return r.json(); });
      var xhr = new XMLHttpRequest(); xhr.open("GET", "/api/missing"); xhr.send();
      setTimeout(function () { throw new Error("boom"); }, 10);
      Promise.reject(new Error("unhandled"));
    }, 50);
  });
</script></body></html>"""


def _app(frontend: Frontend) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)

    async def book(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["id"]})

    async def missing(request: Request) -> JSONResponse:
        return JSONResponse({}, status_code=404)

    return Starlette(
        routes=[
            Route("/books/{id}", page),
            Route("/api/books/{id}", book),
            Route("/api/missing", missing),
            Mount("/_tocsin/rum", frontend.asgi_app()),
        ]
    )


@pytest.mark.browser
def test_the_beacon_reports_paint_interactivity_errors_and_api_calls(metrics: Metrics, browser: Any) -> None:
    frontend = Frontend()
    url, stop = serve_uvicorn(_app(frontend))
    try:
        page = browser.new_page()
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.goto(url + "/books/42")

        def reported() -> bool:
            return (
                sample_value(metrics, "frontend_time_to_interactive_seconds_count", {"page": "/books/:id"})
                or 0
            ) >= 1 and (sample_value(metrics, "frontend_js_errors_total", {"page": "/books/:id"}) or 0) >= 2

        wait_for(reported, 30, what="the beacon's reports")
        wait_for(
            lambda: len(samples(metrics, "frontend_api_requests_total")) == 2,
            30,
            what="both API calls reported",
        )
        page.close()
    finally:
        stop()
    assert sample_value(metrics, "frontend_first_contentful_paint_seconds_count", {"page": "/books/:id"}) == 1
    fcp = sample_value(metrics, "frontend_first_contentful_paint_seconds_sum", {"page": "/books/:id"})
    tti = sample_value(metrics, "frontend_time_to_interactive_seconds_sum", {"page": "/books/:id"})
    assert fcp is not None and tti is not None and 0 < fcp <= tti < 30
    api = {(lb["endpoint"], lb["status"]): v for lb, v in samples(metrics, "frontend_api_requests_total")}
    assert api == {("/api/books/:id", "2xx"): 1, ("/api/missing", "4xx"): 1}
    assert not [e for e in console_errors if "tocsin" in e or "rum" in e]


@pytest.fixture
def frontend(metrics: Metrics) -> Frontend:
    return Frontend(max_pages=3)


def post(frontend: Frontend, report: object) -> int:
    return frontend.handle(orjson.dumps(report))


def test_paths_lose_ids_queries_and_length() -> None:
    assert normalise_path("/books/42?utm=x#top") == "/books/:id"
    assert normalise_path("/u/6f1c2b7e-1234-4abc-9def-0123456789ab/edit") == "/u/:id/edit"
    assert normalise_path("/" + "/".join("abcdefghij")) == "/a/b/c/d/e/f/g/h"
    assert normalise_path("") == "/"


def test_hostile_reports_are_refused_whole_and_counted(frontend: Frontend, metrics: Metrics) -> None:
    assert frontend.handle(b"{not json") == 400
    assert frontend.handle(b"[1, 2]") == 400
    assert frontend.handle(b"x" * (MAX_BODY + 1)) == 413
    assert post(frontend, {"page": "/a", "fcp": -1}) == 400
    assert post(frontend, {"page": "/a", "fcp": 1e9}) == 400
    assert post(frontend, {"page": "/a", "fcp": 0.5, "errors": "many"}) == 400
    assert post(frontend, {"page": "/a", "fcp": 0.5, "api": [{"path": "/x", "duration": "fast"}]}) == 400
    assert post(frontend, {"page": "/a", "fcp": True}) == 400
    assert sample_value(metrics, "frontend_first_contentful_paint_seconds_count", {"page": "/a"}) is None
    rejected = {
        labels["reason"]: value for labels, value in samples(metrics, "frontend_beacons_rejected_total")
    }
    assert rejected == {"malformed": 2, "too_large": 1, "out_of_range": 2, "bad_value": 3}


def test_labels_stay_bounded_whatever_the_browser_sends(frontend: Frontend, metrics: Metrics) -> None:
    for i in range(50):
        call = {"path": f"/api/x{i}", "method": "BREW", "status": 999, "duration": 0.1}
        assert post(frontend, {"page": f"/page-{i}", "errors": 1, "api": [call]}) == 204
    pages = {labels["page"] for labels, _ in samples(metrics, "frontend_js_errors_total")}
    assert pages == {"/page-0", "/page-1", "/page-2", "other"}
    methods = {labels["method"] for labels, _ in samples(metrics, "frontend_api_requests_total")}
    statuses = {labels["status"] for labels, _ in samples(metrics, "frontend_api_requests_total")}
    assert methods == {"other"} and statuses == {"failed"}


def test_allowlisted_pages_only(metrics: Metrics) -> None:
    frontend = Frontend(pages=["/", "/books/:id"])
    post(frontend, {"page": "/books/7", "errors": 1})
    post(frontend, {"page": "/admin/secret", "errors": 1})
    pages = {labels["page"] for labels, _ in samples(metrics, "frontend_js_errors_total")}
    assert pages == {"/books/:id", "other"}


@pytest.mark.integration
def test_wsgi_endpoint_serves_the_script_and_takes_reports(frontend: Frontend, metrics: Metrics) -> None:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, frontend.wsgi_app(), threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        script = httpx.get(url, timeout=5)
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert b"sendBeacon" in script.content
        assert httpx.post(url, content=b'{"page": "/", "fcp": 0.4}', timeout=5).status_code == 204
        assert httpx.post(url, content=b"x" * (MAX_BODY + 10), timeout=5).status_code == 413
        assert httpx.put(url, timeout=5).status_code == 405
    finally:
        server.shutdown()
    assert sample_value(metrics, "frontend_first_contentful_paint_seconds_count", {"page": "/"}) == 1


DJANGO_SITE = """
import sys
from django.conf import settings
settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"], SECRET_KEY="x" * 50,
                   MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"])
import django
django.setup()
from django.test import Client
from django.urls import path
from prometheus_client import generate_latest
from tocsin.sdk.packs import Frontend

frontend = Frontend()
urlpatterns = [path("_tocsin/rum", frontend.django_view())]
client = Client(enforce_csrf_checks=True)  # sendBeacon carries no CSRF token: the view must not need one
script = client.get("/_tocsin/rum")
report = b'{"page": "/books/9", "fcp": 0.7, "errors": 2}'
posted = client.post("/_tocsin/rum", data=report, content_type="text/plain")
refused = client.post("/_tocsin/rum", data=b"{", content_type="text/plain")
print(script.status_code, script["Content-Type"], posted.status_code, refused.status_code)
sys.stdout.write(generate_latest().decode())
"""


@pytest.mark.integration
def test_the_django_view_serves_the_script_and_takes_reports_without_csrf(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = Path(tmp_path) / "site.py"
    script.write_text(DJANGO_SITE)
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("200 text/javascript; charset=utf-8 204 400")
    assert 'frontend_js_errors_total{page="/books/:id"} 2.0' in out.stdout
