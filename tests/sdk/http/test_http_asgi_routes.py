"""Route labels for every routing shape Starlette and FastAPI have, on every version the extras admit.

Run by ``make test`` in the main venv (newest) and in the version matrix (Starlette 0.37 / FastAPI
0.110, FastAPI 0.115 / Starlette 0.46): before Starlette 1.7 no router sets ``scope["route"]``, and
FastAPI's plain Starlette routes (``/docs``, ``add_route``) never had it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Host, Mount, Route
from starlette.staticfiles import StaticFiles

from tocsin.sdk.http import PrometheusMiddleware
from tocsin.sdk.metrics import Metrics
from tocsin.testing import fresh_metrics, samples

Case = tuple[str, str, str, int]  # method, path, expected route, expected status


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    with fresh_metrics() as m:
        yield m


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def shared(request: Request) -> Response:  # one endpoint function at several paths
    return PlainTextResponse(str(request.path_params))


class Things(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse("thing")


def _drive(app: Any, cases: list[Case], headers: dict[str, str] | None = None) -> None:
    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for method, path, _, status in cases:
                response = await client.request(method, path, headers=headers)
                assert response.status_code == status, (method, path, response.text[:200])

    asyncio.run(go())


def _labels(m: Metrics) -> dict[tuple[str, str, str], float]:
    return {(s["method"], s["route"], s["status"]): v for s, v in samples(m, "http_requests_total")}


def _expect(m: Metrics, cases: list[Case]) -> None:
    want: dict[tuple[str, str, str], float] = {}
    for method, _, route, status in cases:
        key = (method, route, str(status))
        want[key] = want.get(key, 0) + 1
    assert _labels(m) == want


def starlette_app(static: Path) -> Starlette:
    admin = [Route("/stats/{day}", ok), Route("/same", shared)]
    tenant = [Route("/orders/{order_id:int}", ok, methods=["GET", "POST"])]
    return Starlette(
        routes=[
            Route("/", ok),
            Route("/users/{user_id:int}", ok, methods=["GET"]),
            Route("/things", Things),
            Route("/a/{x}", shared),
            Route("/b/{x}/{y}", shared),
            Mount("/api/{version}", routes=[Mount("/admin", routes=admin), Route("/ping", ok)]),
            Mount("/t/{tenant}", routes=tenant),
            Mount("/eu/{tenant}", routes=tenant),  # the same routes mounted twice
            Mount("/static", app=StaticFiles(directory=static)),
            Host("api.example.org", app=Starlette(routes=[Route("/hosted/{n}", ok)])),
        ],
        middleware=[Middleware(PrometheusMiddleware)],
    )


STARLETTE_CASES: list[Case] = [
    ("GET", "/", "/", 200),
    ("GET", "/users/1", "/users/{user_id}", 200),
    ("DELETE", "/users/1", "/users/{user_id}", 405),  # a 405 keeps its route
    ("GET", "/things", "/things", 200),
    ("GET", "/a/1", "/a/{x}", 200),
    ("GET", "/b/1/2", "/b/{x}/{y}", 200),
    ("GET", "/api/v1/admin/stats/mon", "/api/{version}/admin/stats/{day}", 200),
    ("GET", "/api/v1/admin/same", "/api/{version}/admin/same", 200),
    ("GET", "/api/v2/ping", "/api/{version}/ping", 200),
    ("POST", "/t/acme/orders/3", "/t/{tenant}/orders/{order_id}", 200),
    ("PUT", "/eu/acme/orders/3", "/eu/{tenant}/orders/{order_id}", 405),
    ("GET", "/static/hello.txt", "/static/{path}", 200),
    ("GET", "/static/missing.txt", "/static/{path}", 404),  # the mounted app's own 404
    ("GET", "/api/v1/nothing", "<unmatched>", 404),  # inside a mount, no route
    ("GET", "/users/not-an-int", "<unmatched>", 404),
    ("GET", "/nowhere", "<unmatched>", 404),
]


def test_every_starlette_routing_shape_is_labelled_by_its_template(metrics: Metrics, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello")
    app = starlette_app(tmp_path)
    cases = STARLETTE_CASES * 2  # the second round takes the cached path
    _drive(app, cases)
    _drive(app, [("GET", "/hosted/4", "/hosted/{n}", 200)], headers={"Host": "api.example.org"})
    _expect(metrics, [*cases, ("GET", "/hosted/4", "/hosted/{n}", 200)])


def test_routes_added_after_the_first_request_are_found(metrics: Metrics, tmp_path: Path) -> None:
    app = starlette_app(tmp_path)
    _drive(app, [("GET", "/", "/", 200)])
    app.routes.append(Route("/late/{n}", ok))
    app.routes.append(Route("/late-shared/{n}", shared))  # an endpoint already at other paths
    cases: list[Case] = [
        ("GET", "/late/1", "/late/{n}", 200),
        ("GET", "/late-shared/1", "/late-shared/{n}", 200),
        ("GET", "/a/1", "/a/{x}", 200),
    ]
    _drive(app, cases)
    _expect(metrics, [("GET", "/", "/", 200), *cases])


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/orders/{order_id}")
    def order(order_id: int) -> int:
        return order_id

    app.add_route("/added/{x}", ok)
    app.routes.append(Route("/appended/{y}", ok))  # what docs/exposition.md suggests for /metrics

    items = APIRouter(prefix="/items", tags=["items"])

    @items.get("/{item_id}")
    def item(item_id: int) -> int:
        return item_id

    @items.delete("/{item_id}")
    def drop(item_id: int) -> None:
        return None

    items.add_route("/plain/{p}", ok)  # a Starlette route inside an included router

    nested = APIRouter(prefix="/nested")

    @nested.get("/leaves/{leaf}")
    def leaf(leaf: str) -> str:
        return leaf

    items.include_router(nested)
    app.include_router(items, prefix="/api/v1")
    app.include_router(items, prefix="/api/v2")  # one router included twice
    app.mount("/legacy", Starlette(routes=[Route("/old/{n}", ok)]))
    sub = FastAPI()

    @sub.get("/things/{thing}")
    def thing(thing: str) -> str:
        return thing

    app.mount("/sub", sub)
    return app


FASTAPI_CASES: list[Case] = [
    ("GET", "/docs", "/docs", 200),
    ("GET", "/docs/oauth2-redirect", "/docs/oauth2-redirect", 200),
    ("GET", "/redoc", "/redoc", 200),
    ("GET", "/openapi.json", "/openapi.json", 200),
    ("GET", "/added/1", "/added/{x}", 200),
    ("GET", "/appended/2", "/appended/{y}", 200),
    ("GET", "/orders/3", "/orders/{order_id}", 200),
    ("PATCH", "/orders/3", "/orders/{order_id}", 405),
    ("GET", "/api/v1/items/4", "/api/v1/items/{item_id}", 200),
    ("DELETE", "/api/v2/items/4", "/api/v2/items/{item_id}", 200),
    ("GET", "/api/v2/plain/5", "/api/v2/plain/{p}", 200),  # add_route: no router prefix
    ("GET", "/api/v1/items/nested/leaves/x", "/api/v1/items/nested/leaves/{leaf}", 200),
    ("GET", "/legacy/old/6", "/legacy/old/{n}", 200),
    ("GET", "/sub/things/t", "/sub/things/{thing}", 200),
    ("GET", "/sub/docs", "/sub/docs", 200),
    ("GET", "/sub/nothing", "<unmatched>", 404),
    ("GET", "/orders/not-an-int", "/orders/{order_id}", 422),
    ("GET", "/nowhere", "<unmatched>", 404),
]


def test_fastapi_docs_plain_routes_includes_and_mounts(metrics: Metrics) -> None:
    app = fastapi_app()
    app.add_middleware(PrometheusMiddleware)
    cases = FASTAPI_CASES * 2
    _drive(app, cases)
    _expect(metrics, cases)


PREFLIGHT = {"Origin": "https://front.example.org", "Access-Control-Request-Method": "GET"}


def test_cors_preflights_answered_before_routing_carry_their_route(metrics: Metrics) -> None:
    app = fastapi_app()
    app.add_middleware(CORSMiddleware, allow_origins=["https://front.example.org"], allow_methods=["*"])
    app.add_middleware(PrometheusMiddleware)  # added last: outermost, so it sees the preflights
    cases: list[Case] = [
        ("OPTIONS", "/orders/1", "/orders/{order_id}", 200),
        ("OPTIONS", "/api/v2/plain/5", "/api/v2/plain/{p}", 200),
        ("OPTIONS", "/legacy/old/6", "/legacy/old/{n}", 200),
        ("OPTIONS", "/docs", "/docs", 200),
        ("OPTIONS", "/nowhere", "<unmatched>", 200),
    ]
    _drive(app, cases, headers=PREFLIGHT)  # the first requests of the app: before any routing
    delete = {**PREFLIGHT, "Access-Control-Request-Method": "DELETE"}
    _drive(app, [("OPTIONS", "/api/v1/items/2", "", 200)], headers=delete)
    _drive(app, [("OPTIONS", "/orders/1", "", 405)])  # not a preflight: the router answers it
    _expect(
        metrics,
        [
            *cases,
            ("OPTIONS", "", "/api/v1/items/{item_id}", 200),  # the route the method was asked for
            ("OPTIONS", "", "/orders/{order_id}", 405),
        ],
    )


def test_invented_methods_do_not_grow_the_route_cache(metrics: Metrics, tmp_path: Path) -> None:
    app = starlette_app(tmp_path)
    _drive(app, [(f"X{i}", "/users/1", "", 405) for i in range(300)])
    assert _labels(metrics) == {("other", "/users/{user_id}", "405"): 300}
    middleware = app.middleware_stack
    while not isinstance(middleware, PrometheusMiddleware):
        middleware = middleware.app  # type: ignore[union-attr]
    assert all(len(by_method) <= 9 for _, by_method in middleware._by_endpoint.values())


@pytest.mark.skipif(not hasattr(FastAPI, "frontend"), reason="app.frontend() is new in FastAPI 0.141")
def test_fastapi_frontend_files_are_one_route_per_frontend(metrics: Metrics, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>spa</html>")
    (tmp_path / "app.js").write_text("1")
    app = fastapi_app()
    app.frontend("/", directory=tmp_path)  # type: ignore[attr-defined]  # the SPA, as the template serves it
    app.add_middleware(PrometheusMiddleware)
    cases: list[Case] = [
        ("GET", "/app.js", "/{path}", 200),
        ("GET", "/missing.js", "/{path}", 404),  # the frontend's own 404, as a static mount's
        ("GET", "/", "/{path}", 200),
        ("GET", "/orders/3", "/orders/{order_id}", 200),  # routes still win
    ]
    _drive(app, cases)
    _expect(metrics, cases)
