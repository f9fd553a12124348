"""Request ids through ASGI (in-process, uvicorn), WSGI (Flask under werkzeug) and Django: no cross-talk."""

from __future__ import annotations

import asyncio
import io
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from logging_helpers import json_lines

from tocsin.sdk import logging as tlog
from tocsin.sdk.metrics import Metrics

log = tlog.get_logger("app.views")  # module level, before configure(): must still follow it


def _starlette_app() -> object:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from tocsin.sdk.logging.asgi import RequestIdMiddleware

    async def work(request: Request) -> PlainTextResponse:
        expected = request.headers.get("x-expected", "")
        log.info("start", expected=expected)
        await asyncio.sleep(random.random() / 100)  # interleave the requests
        log.info("middle", expected=expected)
        await asyncio.sleep(0)
        log.info("end", expected=expected)
        return PlainTextResponse(tlog.get_request_id() or "")

    def sync_work(request: Request) -> PlainTextResponse:  # runs in a worker thread (structlog #491)
        log.info("sync", expected=request.headers.get("x-expected", ""))
        return PlainTextResponse(tlog.get_request_id() or "")

    app = Starlette(routes=[Route("/work", work), Route("/sync", sync_work)])
    app.add_middleware(RequestIdMiddleware)
    return app


def _assert_no_cross_talk(text: str, expected_lines: int) -> None:
    everything = json_lines(text)  # the client's own httpx lines too: all of it must be JSON
    lines = [line for line in everything if line["logger"] == "app.views"]
    assert len(lines) == expected_lines
    for line in lines:
        assert line["request_id"] == line["expected"], line
        assert {"timestamp", "level", "logger", "event"} <= set(line)


@pytest.mark.anyio
async def test_1000_concurrent_asgi_requests_keep_their_own_id(
    stream: io.StringIO, tocsin_metrics: Metrics
) -> None:
    tlog.configure("production", "INFO", stream=stream)
    transport = httpx.ASGITransport(app=_starlette_app())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def call(i: int) -> None:
            rid = f"req-{i:04d}"
            path = "/sync" if i % 10 == 0 else "/work"
            response = await client.get(path, headers={"X-Request-ID": rid, "X-Expected": rid})
            assert response.text == rid
            assert response.headers["x-request-id"] == rid

        await asyncio.gather(*(call(i) for i in range(1000)))
    _assert_no_cross_talk(stream.getvalue(), 900 * 3 + 100)


@pytest.mark.anyio
async def test_ids_are_generated_and_unsafe_ones_replaced(tocsin_metrics: Metrics) -> None:
    tlog.configure("production", "INFO", console=False)
    transport = httpx.ASGITransport(app=_starlette_app())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        generated = await client.get("/sync")
        assert len(generated.text) == 32 and generated.headers["x-request-id"] == generated.text
        unsafe = await client.get("/sync", headers={"X-Request-ID": 'a b"c' + "x" * 200})
        assert len(unsafe.text) == 32 and unsafe.text != generated.text
    assert tlog.get_request_id() is None  # nothing leaks into the caller's context


@pytest.mark.integration
def test_uvicorn(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    from tests.conftest import serve_uvicorn

    tlog.configure("production", "INFO", stream=stream, logger_levels={"uvicorn": "WARNING"})
    base, stop = serve_uvicorn(_starlette_app(), log_config=None)
    try:

        async def run() -> None:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                rids = [f"uv-{i}" for i in range(200)]
                responses = await asyncio.gather(
                    *(client.get("/work", headers={"X-Request-ID": r, "X-Expected": r}) for r in rids)
                )
                assert [r.text for r in responses] == rids

        asyncio.run(run())
    finally:
        stop()
    _assert_no_cross_talk(stream.getvalue(), 600)


@pytest.mark.integration
def test_flask_under_werkzeug(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    import flask
    from werkzeug.serving import make_server

    from tocsin.sdk.logging.wsgi import RequestIdMiddleware

    tlog.configure("production", "INFO", stream=stream, logger_levels={"werkzeug": "WARNING"})
    app = flask.Flask("logging-test")

    @app.get("/work")
    def work() -> str:
        expected = flask.request.headers.get("X-Expected", "")
        log.info("start", expected=expected)
        log.info("end", expected=expected)
        return tlog.get_request_id() or ""

    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _hammer(f"http://127.0.0.1:{server.port}/work", "flask")
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    _assert_no_cross_talk(stream.getvalue(), 200)


@pytest.mark.integration
@pytest.mark.parametrize(("server", "view", "per_request"), [("wsgi", "work", 1), ("asgi", "awork", 2)])
def test_django(tmp_path: Path, server: str, view: str, per_request: int) -> None:
    from tests.conftest import serve_script, wait_for

    log_file = tmp_path / "django.log"
    port, stop = serve_script(Path(__file__).with_name("logging_django_site.py"), str(log_file), server)
    try:
        url = f"http://127.0.0.1:{port}/{view}"
        wait_for(lambda: httpx.get(url, timeout=2).status_code == 200, what="django site")
        _hammer(url, "django")
    finally:
        stop()
    lines = [line for line in json_lines(log_file.read_text()) if line.get("expected")]
    assert len(lines) == 100 * per_request
    assert all(line["request_id"] == line["expected"] for line in lines)


def _hammer(url: str, prefix: str, count: int = 100) -> None:
    """``count`` requests from 20 threads at once, each with its own id, checking the echoed header."""

    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(20) as pool:

        def call(i: int) -> None:
            rid = f"{prefix}-{i}"
            response = client.get(url, headers={"X-Request-ID": rid, "X-Expected": rid})
            assert response.text == rid
            assert response.headers["X-Request-ID"] == rid

        list(pool.map(call, range(count)))


def _failing_app(framework: str, placement: str) -> object:
    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from tocsin.sdk.logging import asgi

    async def boom(request: Request) -> None:
        log.info("about to fail", expected=request.headers.get("x-expected", ""))
        raise RuntimeError("boom")

    async def fastapi_boom() -> None:
        log.info("about to fail", expected=tlog.get_request_id())
        raise RuntimeError("boom")

    app: Starlette = Starlette(routes=[Route("/boom", boom)]) if framework == "starlette" else FastAPI()
    if framework == "fastapi":
        app.add_api_route("/boom", fastapi_boom)
    if placement == "add_request_ids":
        asgi.add_request_ids(app)
    else:
        app.add_middleware(asgi.RequestIdMiddleware)
    return app


@pytest.mark.integration
@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
@pytest.mark.parametrize("placement", ["add_request_ids", "add_middleware"])
def test_an_escaping_exception_keeps_the_id_on_the_500_and_the_traceback(
    stream: io.StringIO, tocsin_metrics: Metrics, framework: str, placement: str
) -> None:
    from tests.conftest import serve_uvicorn

    tlog.configure("production", "INFO", stream=stream)
    base, stop = serve_uvicorn(_failing_app(framework, placement), log_config=None)
    try:
        # "Connection: close": after an uncaught exception the server may drop a kept-alive connection.
        with httpx.Client(base_url=base, timeout=10, headers={"Connection": "close"}) as client:
            for i in range(3):
                rid = f"boom-{i}"
                response = client.get("/boom", headers={"X-Request-ID": rid, "X-Expected": rid})
                assert response.status_code == 500
                if placement == "add_request_ids":  # add_middleware sits inside Starlette's 500
                    assert response.headers["x-request-id"] == rid
    finally:
        stop()
    lines = json_lines(stream.getvalue())
    tracebacks = [line for line in lines if line["logger"] == "uvicorn.error" and line["level"] == "error"]
    assert len(tracebacks) == 3, lines
    for i, line in enumerate(tracebacks):
        assert line["request_id"] == f"boom-{i}"
        assert "RuntimeError: boom" in line["exception"]


def test_add_request_ids_refuses_what_it_cannot_do() -> None:
    from starlette.applications import Starlette

    from tocsin.errors import ConfigurationError
    from tocsin.sdk.logging.asgi import add_request_ids

    with pytest.raises(ConfigurationError, match="RequestIdMiddleware"):
        add_request_ids(object())
    served = Starlette()
    served.middleware_stack = served.build_middleware_stack()  # what the first request does
    with pytest.raises(ConfigurationError, match="before the app serves its first"):
        add_request_ids(served)
