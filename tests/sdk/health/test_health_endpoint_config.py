"""Endpoint behaviour that needs no real dependency: routing, methods, tokens from env and file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tocsin.sdk.health import Health, checks
from tocsin.sdk.health.asgi import HealthMiddleware, health_app
from tocsin.sdk.metrics import Metrics

pytestmark = pytest.mark.anyio
TOKEN = "0123456789abcdef-token"


def _health() -> Health:
    return Health([checks.custom("queue", lambda: 7)], cache_ttl=0)


async def _get(app: object, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(
            method, path, headers={k.replace("_", "-"): v for k, v in headers.items()}
        )


async def test_other_paths_and_methods(tocsin_metrics: Metrics) -> None:
    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 418, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"app"})  # type: ignore[operator]

    app = HealthMiddleware(inner, health=_health(), path="/internal/health/")  # type: ignore[arg-type]
    assert (await _get(app, "/internal/health/ready")).status_code == 200
    assert (await _get(app, "/internal/health/")).status_code == 200
    assert (await _get(app, "/health")).status_code == 418  # not ours: passed through
    assert (await _get(app, "/internal/health/readyx")).status_code == 418
    refused = await _get(app, "/internal/health", "POST")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
    head = await _get(app, "/internal/health", "HEAD")
    assert (head.status_code, head.content) == (200, b"")
    assert (await _get(health_app(_health()), "/elsewhere")).status_code == 404


@pytest.mark.parametrize("source", ["env", "file"])
async def test_token_from_env_or_file(
    tocsin_metrics: Metrics, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str
) -> None:
    if source == "env":
        monkeypatch.setenv("TOCSIN_HEALTH_TOKEN", TOKEN)
        app = health_app(_health())
    else:
        (tmp_path / "token").write_text(TOKEN + "\n")  # a trailing newline is not part of the token
        app = health_app(_health(), token_file=tmp_path / "token")
    hidden = (await _get(app, "/health/ready")).json()["checks"]["queue"]
    shown = (await _get(app, "/health/ready", authorization=f"Bearer {TOKEN}")).json()["checks"]["queue"]
    wrong = (await _get(app, "/health/ready", x_health_token=TOKEN[:-1] + "X")).json()["checks"]["queue"]
    assert hidden == wrong == {"status": "up", "critical": True}
    assert shown["observed_value"] == 7


async def test_never_means_never(tocsin_metrics: Metrics) -> None:
    app = health_app(_health(), token=TOKEN, details="never")
    body = (await _get(app, "/health", authorization=f"Bearer {TOKEN}")).json()
    assert body["checks"]["queue"] == {"status": "up", "critical": True}
