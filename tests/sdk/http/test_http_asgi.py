"""ASGI middleware against real uvicorn servers: Starlette and FastAPI routing features."""

from __future__ import annotations

import asyncio
import random
import string
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from http_servers import get_in_background, uvicorn_server
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from tests.conftest import wait_for

from tocsin.sdk.http import PrometheusMiddleware, RequestMetrics
from tocsin.sdk.metrics import Metrics
from tocsin.testing import fresh_metrics, sample_value, samples

pytestmark = pytest.mark.integration

STREAM_CHUNK_PAUSE = 0.06  # four pauses: the body takes >= 0.24 s


class Gate:
    """Holds a request inside its endpoint until the test releases it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    async def wait(self) -> None:
        self.entered.set()
        await asyncio.to_thread(self.release.wait, 10)


async def _stream() -> AsyncIterator[bytes]:
    for i in range(4):
        await asyncio.sleep(STREAM_CHUNK_PAUSE)
        yield f"chunk {i}\n".encode()


def starlette_app(static_dir: Path, gate: Gate) -> Starlette:
    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def boom(request: Request) -> Response:
        raise RuntimeError("boom")

    async def stream(request: Request) -> Response:
        return StreamingResponse(_stream())

    async def slow(request: Request) -> Response:
        await gate.wait()
        return PlainTextResponse("slow")

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    admin = [Route("/stats", ok)]
    return Starlette(
        routes=[
            Route("/users/{user_id:int}", ok),
            Route("/boom", boom),
            Route("/stream", stream),
            Route("/slow/{n}", slow),
            Route("/metrics", ok),
            WebSocketRoute("/ws", ws),
            Mount("/api/{version}", routes=[Route("/items/{item_id}", ok), Mount("/admin", routes=admin)]),
            Mount("/static", app=StaticFiles(directory=static_dir)),
        ],
        middleware=[Middleware(PrometheusMiddleware)],
    )


def fastapi_app(gate: Gate) -> FastAPI:
    app = FastAPI()
    app.add_middleware(PrometheusMiddleware)

    @app.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, int]:
        return {"order_id": order_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(_stream())

    @app.get("/slow/{n}")
    async def slow(n: int) -> str:
        await gate.wait()
        return "slow"

    nested = APIRouter(prefix="/nested")

    @nested.get("/leaves/{leaf_id}")
    def leaf(leaf_id: str) -> str:
        return leaf_id

    v1 = APIRouter(prefix="/v1")

    @v1.get("/books/{book_id}")
    def book(book_id: int) -> int:
        return book_id

    v1.include_router(nested)
    app.include_router(v1, prefix="/api")

    sub = FastAPI()

    @sub.get("/things/{thing_id}")
    def thing(thing_id: str) -> str:
        return thing_id

    app.mount("/sub", sub)
    return app


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    with fresh_metrics() as m:
        yield m


def _count(m: Metrics, route: str, status: str, method: str = "GET") -> float | None:
    return sample_value(m, "http_requests_total", {"method": method, "route": route, "status": status})


STARLETTE_ROUTES = [
    ("/users/42", "/users/{user_id}", 200),
    ("/api/v2/items/abc", "/api/{version}/items/{item_id}", 200),
    ("/api/v3/admin/stats", "/api/{version}/admin/stats", 200),
    ("/static/hello.txt", "/static/{path}", 200),
    ("/no/such/page", "<unmatched>", 404),
    ("/api/v2/nothing-here", "<unmatched>", 404),
    ("/boom", "/boom", 500),
]
FASTAPI_ROUTES = [
    ("/orders/7", "/orders/{order_id}", 200),
    ("/api/v1/books/3", "/api/v1/books/{book_id}", 200),
    ("/api/v1/nested/leaves/x", "/api/v1/nested/leaves/{leaf_id}", 200),
    ("/sub/things/t1", "/sub/things/{thing_id}", 200),
    ("/no/such/page", "<unmatched>", 404),
    ("/sub/nothing", "<unmatched>", 404),
    ("/boom", "/boom", 500),
]


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_route_templates_statuses_streaming_and_exclusions(
    framework: str, metrics: Metrics, tmp_path: Path
) -> None:
    (tmp_path / "hello.txt").write_text("hello")
    gate = Gate()
    app = starlette_app(tmp_path, gate) if framework == "starlette" else fastapi_app(gate)
    cases = STARLETTE_ROUTES if framework == "starlette" else FASTAPI_ROUTES
    # "Connection: close": after an uncaught exception the server may drop a kept-alive connection.
    headers = {"Connection": "close"}
    with uvicorn_server(app) as url, httpx.Client(base_url=url, timeout=10, headers=headers) as client:
        for path, _, status in cases:
            assert client.get(path).status_code == status, path
        started = time.perf_counter()
        assert client.get("/stream").text.count("chunk") == 4
        client_seconds = time.perf_counter() - started
        client.get("/metrics")
    for path, route, status in cases:
        assert _count(metrics, route, str(status)) is not None, f"{path}: no series for {route} {status}"
    assert _count(metrics, "<unmatched>", "404") == 2
    assert _count(metrics, "/boom", "500") == 1
    # The streamed body takes >= 0.24 s; the request is timed to its last chunk.
    stream_seconds = sample_value(metrics, "http_request_duration_seconds_sum", {"route": "/stream"})
    assert (
        stream_seconds is not None and 4 * STREAM_CHUNK_PAUSE <= stream_seconds <= client_seconds + 0.5
    )  # the server closes after the client has it all
    # Excluded: /metrics is not measured at all, not even as <unmatched>.
    # Only templates (no raw path, no /metrics) in the labels, and nothing left in progress.
    routes = {labels["route"] for labels, _ in samples(metrics, "http_requests_total")}
    assert routes == {route for _, route, _ in cases} | {"/stream"}
    assert all(v == 0 for _, v in samples(metrics, "http_requests_in_progress"))


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_in_progress_counts_a_request_under_its_route_while_it_runs(
    framework: str, metrics: Metrics, tmp_path: Path
) -> None:
    gate = Gate()
    app = starlette_app(tmp_path, gate) if framework == "starlette" else fastapi_app(gate)
    route = "/slow/{n}"
    with uvicorn_server(app) as url:
        thread, result = get_in_background(url + "/slow/1")
        try:
            assert gate.entered.wait(10)
            wait_for(
                lambda: sample_value(metrics, "http_requests_in_progress", {"route": route}) == 1,
                timeout=5,
                what="the request to show in progress",
            )
        finally:
            gate.release.set()
            thread.join(10)
    assert result == [200]
    assert sample_value(metrics, "http_requests_in_progress", {"route": route}) == 0
    assert _count(metrics, route, "200") == 1


def _in_process(app: object, *requests: tuple[str, str]) -> list[int]:
    """Drive ``app`` in-process with httpx; returns the status codes."""

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [(await client.request(method, path)).status_code for method, path in requests]

    return asyncio.run(go())


def test_in_progress_when_inner_middleware_suspends_before_routing(metrics: Metrics, tmp_path: Path) -> None:
    gate = Gate()
    app = starlette_app(tmp_path, gate)

    def suspends_first(app: object) -> object:  # Starlette < 0.38 passes the app by keyword
        async def middleware(scope: dict[str, object], receive: object, send: object) -> None:
            await asyncio.sleep(0.01)  # like BaseHTTPMiddleware's task group: routing comes later
            await app(scope, receive, send)  # type: ignore[operator]

        return middleware

    app.user_middleware.append(Middleware(suspends_first))  # inside PrometheusMiddleware

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            request = asyncio.create_task(client.get("/slow/3"))
            deadline = time.monotonic() + 5
            while sample_value(metrics, "http_requests_in_progress", {"route": "/slow/{n}"}) != 1:
                assert time.monotonic() < deadline, "never counted in progress"
                await asyncio.sleep(0.005)
            gate.release.set()
            assert (await request).status_code == 200

    asyncio.run(go())
    assert sample_value(metrics, "http_requests_in_progress", {"route": "/slow/{n}"}) == 0
    assert _count(metrics, "/slow/{n}", "200") == 1


def test_non_http_scopes_pass_through(metrics: Metrics, tmp_path: Path) -> None:
    app = starlette_app(tmp_path, Gate())

    async def session(scope: dict[str, object], inbound: list[dict[str, object]]) -> list[dict[str, object]]:
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return inbound.pop(0)

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent

    lifespan = asyncio.run(
        session({"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    )
    assert [m["type"] for m in lifespan] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    ws_scope = {"type": "websocket", "path": "/ws", "raw_path": b"/ws", "root_path": "", "query_string": b"",
                "headers": [], "scheme": "ws", "subprotocols": []}  # fmt: skip
    sent = asyncio.run(session(ws_scope, [{"type": "websocket.connect"}, {"type": "websocket.disconnect"}]))
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert samples(metrics, "http_requests_total") == []


def test_unknown_methods_fold_into_other(metrics: Metrics, tmp_path: Path) -> None:
    app = starlette_app(tmp_path, Gate())
    assert _in_process(app, *[(m, "/users/1") for m in ("BREW", "PROPFIND", "X" * 40)]) == [405] * 3
    assert _count(metrics, "/users/{user_id}", "405", method="other") == 3
    assert {labels["method"] for labels, _ in samples(metrics, "http_requests_total")} == {"other"}


def _random_path(rng: random.Random) -> str:
    return "/" + "/".join("".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(rng.randint(1, 3)))


def _series_count(registry: CollectorRegistry) -> int:
    """Label sets across the HTTP metrics (a histogram's buckets count once)."""
    seen = set()
    for family in registry.collect():
        if family.name.startswith("http_"):
            for s in family.samples:
                seen.add((family.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))))
    return len(seen)


def test_ten_thousand_unknown_paths_add_at_most_three_series(metrics: Metrics, tmp_path: Path) -> None:
    app = starlette_app(tmp_path, Gate())
    rng = random.Random(7)

    async def hammer() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/users/1")
            before = _series_count(metrics.registry)
            for _ in range(10_000):
                assert (await client.get(_random_path(rng))).status_code == 404
            assert _series_count(metrics.registry) - before <= 3

    asyncio.run(hammer())
    assert _count(metrics, "<unmatched>", "404") == 10_000


def test_unknown_paths_on_a_real_server_stay_in_one_series(metrics: Metrics, tmp_path: Path) -> None:
    rng = random.Random(11)
    with uvicorn_server(fastapi_app(Gate())) as url, httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(300):
            client.get(_random_path(rng))
    assert _count(metrics, "<unmatched>", "404") == 300
    assert len(samples(metrics, "http_requests_total")) == 1


def test_explicit_registry_metrics_and_exclusions(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    own = Metrics(registry=registry, prefix="shop")
    inner = starlette_app(tmp_path, Gate())
    app = PrometheusMiddleware(inner.router, metrics=own, excluded_paths=["/users/1"])
    assert _in_process(app, ("GET", "/users/1"), ("GET", "/users/2")) == [200, 200]
    assert sample_value(registry, "shop_http_requests_total", {"route": "/users/{user_id}"}) == 1


def test_exemplar_carries_the_active_trace_id(metrics: Metrics, tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    request_metrics = RequestMetrics(exemplars=True)
    app = PrometheusMiddleware(starlette_app(tmp_path, Gate()).router, request_metrics=request_metrics)

    async def call() -> str:
        with tracer.start_as_current_span("request") as span:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                await client.get("/users/5")
            return format(span.get_span_context().trace_id, "032x")

    trace_id = asyncio.run(call())
    exemplars = [
        s.exemplar
        for family in metrics.registry.collect()
        for s in family.samples
        if s.exemplar is not None and family.name in ("http_requests", "http_request_duration_seconds")
    ]
    assert len(exemplars) == 2
    assert all(e.labels == {"trace_id": trace_id} for e in exemplars)


def test_the_same_routes_mounted_twice_keep_their_own_prefixes(metrics: Metrics) -> None:
    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    shared = [Route("/items/{item_id}", ok)]
    app = Starlette(
        routes=[Mount("/v1", routes=shared), Mount("/tenants/{tenant}", routes=shared)],
        middleware=[Middleware(PrometheusMiddleware)],
    )
    paths = ["/v1/items/1", "/tenants/acme/items/2"] * 3
    assert _in_process(app, *[("GET", p) for p in paths]) == [200] * 6
    assert _count(metrics, "/v1/items/{item_id}", "200") == 3
    assert _count(metrics, "/tenants/{tenant}/items/{item_id}", "200") == 3
