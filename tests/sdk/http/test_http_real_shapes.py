"""The routing shapes of the real apps ``scripts/real_apps.py`` was run on, rebuilt without their code.

full-stack-fastapi-template's backend (routers per module in one ``api_router`` under
``/api/v1``, ``openapi_url`` under it, docs, CORS, ``app.frontend()``) and microblog (a Flask
factory called once per test, blueprints with and without ``url_prefix``, GET/POST views).
django-locallibrary's shapes (``include()``, class-based views, a root redirect) are in
``http_django_site.py``. Every route templated, a 404 ``<unmatched>``, 405 and 500 keep theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from flask import Blueprint, Flask
from prometheus_client import CollectorRegistry
from starlette.middleware.cors import CORSMiddleware

from tocsin.sdk import metrics as tmetrics
from tocsin.sdk.http import PrometheusMiddleware, instrument_flask
from tocsin.sdk.metrics import Metrics
from tocsin.testing import fresh_metrics, samples


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    with fresh_metrics() as m:
        yield m


def _labels(m: Metrics | CollectorRegistry) -> set[tuple[str, str, str]]:
    return {(s["method"], s["route"], s["status"]) for s, _ in samples(m, "http_requests_total")}


def template_app() -> FastAPI:
    login, users, items = APIRouter(tags=["login"]), APIRouter(prefix="/users"), APIRouter(prefix="/items")

    @login.post("/login/access-token")
    def access_token() -> dict[str, str]:
        return {"access_token": "t"}

    @users.get("/me")
    def me() -> dict[str, str]:
        return {"email": "a@example.org"}

    @users.get("/{user_id}")
    def user(user_id: int) -> int:
        return user_id

    @items.get("/")
    def list_items() -> list[int]:
        return []

    @items.put("/{id}")
    def update_item(id: int) -> int:
        return id

    @items.get("/{id}/fail")
    def fail(id: int) -> None:
        raise RuntimeError("boom")

    api_router = APIRouter()
    for router in (login, users, items):
        api_router.include_router(router)
    app = FastAPI(title="t", openapi_url="/api/v1/openapi.json")
    app.add_middleware(CORSMiddleware, allow_origins=["http://localhost:5173"], allow_methods=["*"])
    app.include_router(api_router, prefix="/api/v1")
    app.add_middleware(PrometheusMiddleware)  # docs/http.md: last, outermost
    return app


def test_the_fastapi_template_shapes(metrics: Metrics) -> None:
    app = template_app()
    preflight = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"}
    requests = [
        ("POST", "/api/v1/login/access-token", {}, 200),
        ("GET", "/api/v1/users/me", {}, 200),
        ("GET", "/api/v1/users/7", {}, 200),
        ("GET", "/api/v1/items/", {}, 200),
        ("PUT", "/api/v1/items/3", {}, 200),
        ("GET", "/api/v1/items/3/fail", {}, 500),
        ("DELETE", "/api/v1/items/3", {}, 405),
        ("OPTIONS", "/api/v1/items/3", preflight, 200),
        ("GET", "/api/v1/openapi.json", {}, 200),
        ("GET", "/docs", {}, 200),
        ("GET", "/redoc", {}, 200),
        ("GET", "/api/v1/nothing", {}, 404),
    ]

    async def drive() -> list[int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return [(await client.request(m, p, headers=h)).status_code for m, p, h, _ in requests]

    assert asyncio.run(drive()) == [status for *_, status in requests]
    assert _labels(metrics) == {
        ("POST", "/api/v1/login/access-token", "200"),
        ("GET", "/api/v1/users/me", "200"),
        ("GET", "/api/v1/users/{user_id}", "200"),
        ("GET", "/api/v1/items/", "200"),
        ("PUT", "/api/v1/items/{id}", "200"),
        ("GET", "/api/v1/items/{id}/fail", "500"),
        ("DELETE", "/api/v1/items/{id}", "405"),
        ("OPTIONS", "/api/v1/items/{id}", "200"),
        ("GET", "/api/v1/openapi.json", "200"),
        ("GET", "/docs", "200"),
        ("GET", "/redoc", "200"),
        ("GET", "<unmatched>", "404"),
    }


def create_app(registry: CollectorRegistry) -> Flask:
    """microblog's factory, with the two lines docs/http.md adds."""
    tmetrics.configure(app="microblog", registry=registry)
    app = Flask(__name__)
    errors, auth, main, api = (Blueprint(n, __name__) for n in ("errors", "auth", "main", "api"))

    @auth.route("/login", methods=["GET", "POST"])
    def login() -> str:
        return "login"

    @main.route("/", methods=["GET", "POST"])
    @main.route("/index", methods=["GET", "POST"])
    def index() -> str:
        return "index"

    @main.get("/user/<username>")
    def user(username: str) -> str:
        return username

    @main.get("/user/<username>/popup")
    def popup(username: str) -> str:
        raise RuntimeError("boom")

    @api.get("/users/<int:id>")
    def api_user(id: int) -> str:
        return str(id)

    app.register_blueprint(errors)
    app.register_blueprint(auth, url_prefix="/auth")
    app.register_blueprint(main)
    app.register_blueprint(api, url_prefix="/api")
    instrument_flask(app)
    return app


def test_microblog_shapes_one_app_per_test() -> None:
    registry = CollectorRegistry()
    requests = [
        ("GET", "/", 200),
        ("POST", "/index", 200),
        ("GET", "/auth/login", 200),
        ("GET", "/user/ann", 200),
        ("GET", "/user/ann/popup", 500),
        ("GET", "/api/users/3", 200),
        ("DELETE", "/index", 405),
        ("GET", "/api/users/not-a-number", 404),
    ]
    with fresh_metrics():
        for _ in range(4):  # microblog's four tests: four apps, one registry
            client = create_app(registry).test_client()
            for method, path, status in requests:
                with client.open(path, method=method) as response:
                    assert response.status_code == status, (method, path)
    assert _labels(registry) == {
        ("GET", "/", "200"),
        ("POST", "/index", "200"),
        ("GET", "/auth/login", "200"),
        ("GET", "/user/<username>", "200"),
        ("GET", "/user/<username>/popup", "500"),
        ("GET", "/api/users/<int:id>", "200"),
        ("DELETE", "/index", "405"),
        ("GET", "<unmatched>", "404"),
    }
