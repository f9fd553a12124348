"""The client pack: httpx (sync + async) and requests against a real local server; timeouts, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from tests.conftest import free_port, serve_uvicorn

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import HttpClient
from tocsin.testing import sample_value, samples

pytestmark = pytest.mark.integration


async def answer(request: Request) -> PlainTextResponse:
    if request.path_params["what"] == "slow":
        await asyncio.sleep(1.0)
    status = 503 if request.path_params["what"] == "down" else 200
    return PlainTextResponse("ok", status_code=status)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    url, stop = serve_uvicorn(Starlette(routes=[Route("/{what}/{id}", answer, methods=["GET", "POST"])]))
    yield url
    stop()


def counts(metrics: Metrics, target: str) -> dict[tuple[str, str], float]:
    return {
        (labels["method"], labels["status"]): value
        for labels, value in samples(metrics, "http_client_requests_total")
        if labels["target"] == target
    }


def test_httpx_sync_by_target_never_by_url(server: str, metrics: Metrics) -> None:
    calls = HttpClient()
    with httpx.Client(base_url=server, transport=calls.httpx_transport("auth")) as client:
        for user in range(5):
            client.get(f"/ok/{user}")
        client.post("/down/1")
    assert counts(metrics, "auth") == {("GET", "200"): 5, ("POST", "503"): 1}
    assert (
        sample_value(
            metrics, "http_client_request_duration_seconds_count", {"target": "auth", "method": "GET"}
        )
        == 5
    )
    assert all("/" not in labels["target"] for labels, _ in samples(metrics, "http_client_requests_total"))


def test_httpx_timeouts_and_refused_connections(server: str, metrics: Metrics) -> None:
    calls = HttpClient()
    with httpx.Client(transport=calls.httpx_transport("coach"), timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"{server}/slow/1")
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{free_port()}/x")
    errors = {labels["type"]: value for labels, value in samples(metrics, "http_client_errors_total")}
    assert errors == {"timeout": 1, "connect": 1}


def test_httpx_async(server: str, metrics: Metrics) -> None:
    calls = HttpClient()

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=calls.httpx_async_transport("fastapi"), timeout=0.2) as client:
            await asyncio.gather(*(client.get(f"{server}/ok/{i}") for i in range(3)))
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"{server}/slow/2")

    asyncio.run(scenario())
    assert counts(metrics, "fastapi") == {("GET", "200"): 3}
    assert sample_value(metrics, "http_client_errors_total", {"target": "fastapi", "type": "timeout"}) == 1


def test_requests_session(server: str, metrics: Metrics) -> None:
    calls = HttpClient()
    session = calls.requests_session("billing")
    assert session.get(f"{server}/ok/1", timeout=5).status_code == 200
    assert session.get(f"{server}/down/1", timeout=5).status_code == 503
    with pytest.raises(requests.Timeout):
        session.get(f"{server}/slow/1", timeout=0.2)
    with pytest.raises(requests.ConnectionError):
        session.get(f"http://127.0.0.1:{free_port()}/", timeout=2)
    session.close()
    assert counts(metrics, "billing") == {("GET", "200"): 1, ("GET", "503"): 1}
    errors = {labels["type"]: value for labels, value in samples(metrics, "http_client_errors_total")}
    assert errors == {"timeout": 1, "connect": 1}
