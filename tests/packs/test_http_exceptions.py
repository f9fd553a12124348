"""Exceptions by type for every HTTP middleware (django-prometheus and prometheus-flask-exporter parity)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from tests.conftest import wait_for

from tocsin.sdk.http import PrometheusMiddleware, instrument_flask
from tocsin.sdk.metrics import Metrics
from tocsin.testing import sample_value

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "tests" / "sdk" / "http" / "http_django_site.py"


class OrderMissing(LookupError):
    pass


def test_asgi_counts_the_escaping_exception_by_route_and_class(metrics: Metrics) -> None:
    async def order(request: Request) -> PlainTextResponse:
        if request.path_params["id"] == "404":
            raise HTTPException(404)  # handled by Starlette: not an exception of the app
        raise OrderMissing(request.path_params["id"])

    app = Starlette(routes=[Route("/orders/{id}", order)])
    app.add_middleware(PrometheusMiddleware)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/orders/7").status_code == 500
    assert client.get("/orders/404").status_code == 404
    labels = {"method": "GET", "route": "/orders/{id}", "type": "OrderMissing"}
    assert sample_value(metrics, "http_exceptions_total", labels) == 1
    assert sample_value(metrics, "http_requests_total", {"route": "/orders/{id}", "status": "500"}) == 1
    assert sample_value(metrics, "http_exceptions_total", {"type": "HTTPException"}) is None


def test_flask_counts_the_exception_it_turns_into_a_500(metrics: Metrics) -> None:
    app = Flask(__name__)

    @app.get("/books/<int:book>")
    def book(book: int) -> str:
        raise OrderMissing(book)

    instrument_flask(app)
    assert app.test_client().get("/books/3").status_code == 500
    labels = {"method": "GET", "route": "/books/<int:book>", "type": "OrderMissing"}
    assert sample_value(metrics, "http_exceptions_total", labels) == 1


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["wsgi", "asgi"])
def test_django_counts_view_exceptions(mode: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, str(SITE), mode, str(tmp_path / "gate")], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        wait_for(lambda: httpx.get(url + "/metrics", timeout=2).status_code == 200, 30, what="django site")
        assert httpx.get(url + "/boom/", timeout=5).status_code == 500
        text = httpx.get(url + "/metrics", timeout=5).text
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert 'http_exceptions_total{method="GET",route="boom/",type="RuntimeError"} 1.0' in text


DJANGO_404 = """
import sys
from django.conf import settings
settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"], SECRET_KEY="x" * 50,
                   MIDDLEWARE=["tocsin.sdk.http.django.PrometheusMiddleware"])
import django
django.setup()
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import path
from prometheus_client import generate_latest

def missing(request, pk):
    raise Http404("no such poll")

def forbidden(request):
    raise PermissionDenied

def broken(request):
    raise KeyError("choice")

urlpatterns = [path("polls/<int:pk>/", missing), path("admin/", forbidden), path("vote/", broken)]
client = Client(raise_request_exception=False)
print(*(client.get(url).status_code for url in ("/polls/3/", "/admin/", "/vote/")))
sys.stdout.write(generate_latest().decode())
"""


@pytest.mark.integration
def test_django_answers_in_4xx_are_not_exceptions(tmp_path: Path) -> None:
    """Found running a real Django app's tests: get_object_or_404 counted as an exception of the app."""
    script = tmp_path / "site.py"
    script.write_text(DJANGO_404)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("404 403 500")
    exceptions = [line for line in out.stdout.splitlines() if line.startswith("http_exceptions_total{")]
    assert exceptions == ['http_exceptions_total{method="GET",route="vote/",type="KeyError"} 1.0']
