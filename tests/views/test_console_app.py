"""The console app in-process (httpx over ASGI): security, forms, escaping, pages with a component down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_port

from tocsin.views._schema import MODEL_VERSION, ViewModel
from tocsin.views.console import ConsoleConfig, create_app, missing_vendor_files
from tocsin.views.console.__main__ import make_auth

pytestmark = pytest.mark.anyio

HOSTILE = "</script><script>alert(1)</script>"


def model(**overrides: Any) -> ViewModel:
    nowhere = f"http://127.0.0.1:{free_port()}"
    panel = {
        "index": 0, "anchor": "panel-0", "title": HOSTILE, "kind": "stat", "expr": "up", "unit": "short",
        "min": None, "max": None, "legend": None, "thresholds": None, "alert": None, "runbook": None,
        "range": None, "period": None,
    }  # fmt: skip
    base: dict[str, Any] = {
        "version": MODEL_VERSION, "app": "shop", "scrape_interval": 15.0, "prometheus": [nowhere],
        "alertmanager": [nowhere], "receiver": nowhere,
        "dashboards": [
            {"slug": "main", "title": "Main", "refresh": 30.0, "time_from": "now-1h", "panels": [panel]}
        ],
        "alerts": {}, "services": {"api": {"health": [nowhere + "/health"], "targets": []}},
    }  # fmt: skip
    return {**base, **overrides}  # type: ignore[typeddict-item]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _client(app: Any, host: str = "127.0.0.1:9096") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(create_app(ConsoleConfig(model=model()))):
        yield c


async def test_every_page_answers_with_the_stack_down(client: httpx.AsyncClient) -> None:
    for path in ("/", "/dashboards", "/dashboards/main", "/alerts", "/silences", "/silences/new", "/targets",
                 "/rules", "/checklist", "/health", "/logs", "/explore?q=up"):  # fmt: skip
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "text/html" in response.headers["content-type"]
        assert "default-src 'self'" in response.headers["content-security-policy"]
    alerts = (await client.get("/alerts")).text
    assert "Prometheus is not answering" in alerts and "ERROR" in alerts
    health = (await client.get("/health")).text
    assert "UNHEALTHY" in health


async def test_titles_cannot_break_out_of_the_page(client: httpx.AsyncClient) -> None:
    page = (await client.get("/dashboards/main")).text
    assert HOSTILE not in page
    assert "&lt;/script&gt;" in page  # the heading, escaped by Jinja
    assert "\\u003c/script>" in page  # the JSON block, escaped for <script>


async def test_an_unknown_dashboard_is_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboards/nope")
    assert response.status_code == 404 and "no dashboard" in response.text
    assert (await client.get("/api/dashboards/nope")).status_code == 404


async def test_bad_ranges_are_400_with_a_reason(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/dashboards/main", params={"from": "yesterday"})
    assert response.status_code == 400 and "is not a time" in response.json()["error"]
    response = await client.get("/api/dashboards/main", params={"from": "now", "to": "now-1h"})
    assert response.status_code == 400 and "ends before it starts" in response.json()["error"]
    response = await client.get("/api/dashboards/main", params={"widths": "wide"})
    assert response.status_code == 400


async def test_a_panel_whose_prometheus_is_down_says_so(client: httpx.AsyncClient) -> None:
    answer = (await client.get("/api/dashboards/main", params={"widths": "300"})).json()
    assert "Prometheus is not answering" in answer["panels"][0]["error"]


async def test_foreign_host_headers_are_refused() -> None:
    async for c in _client(create_app(ConsoleConfig(model=model())), host="evil.example:9096"):
        response = await c.get("/dashboards")
        assert response.status_code == 400 and "Host" in response.text


async def test_forms_need_the_console_token(client: httpx.AsyncClient) -> None:
    form = {"matchers": 'alertname="X"', "duration": "1h", "author": "me", "comment": "why"}
    refused = await client.post("/silences", data=form)
    assert refused.status_code == 403 and "not sent by this console" in refused.text
    page = (await client.get("/silences/new")).text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    cross = await client.post(
        "/silences", data={**form, "csrf": token}, headers={"origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    expire = await client.post("/silences/0123abcd-0000/expire", data={"csrf": "wrong"})
    assert expire.status_code == 403


async def test_silence_form_problems_are_listed_together(client: httpx.AsyncClient) -> None:
    page = (await client.get("/silences/new?matcher=alertname%3D%22X%22")).text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert "alertname=&#34;X&#34;" in page  # pre-filled from the alert's link
    bad = {
        "csrf": token,
        "matchers": "alertname\nseverity=~(",
        "duration": "soon",
        "author": "",
        "comment": "",
    }
    response = await client.post("/silences", data=bad)
    assert response.status_code == 400
    for problem in ("is not a matcher", "the regex does not compile", "is not like 2h", "author is empty",
                    "comment is empty"):  # fmt: skip
        assert problem in response.text


async def test_alertmanager_links_are_accepted(client: httpx.AsyncClient) -> None:
    page = (await client.get("/silences/new", params={"filter": '{alertname="X",severity="warning"}'})).text
    assert "alertname=&#34;X&#34;\nseverity=&#34;warning&#34;" in page
    graph = await client.get("/graph", params={"g0.expr": "up == 0", "g0.tab": "1"})
    assert graph.status_code == 302 and graph.headers["location"] == "/explore?q=up+%3D%3D+0"


async def test_basic_auth_as_for_metrics(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    auth = make_auth("admin", str(secret), None)
    async for c in _client(create_app(ConsoleConfig(model=model()), auth=auth)):
        denied = await c.get("/dashboards")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith('Basic realm="tocsin console"')
        assert (await c.get("/dashboards", auth=("admin", "wrong"))).status_code == 401
        assert (await c.get("/dashboards", auth=("admin", "s3cret"))).status_code == 200
        assert (await c.get("/-/ready")).status_code == 200  # the supervisor's probe needs no secret


async def test_bearer_auth(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken")
    auth = make_auth(None, None, str(token))
    async for c in _client(create_app(ConsoleConfig(model=model()), auth=auth)):
        assert (await c.get("/alerts")).status_code == 401
        assert (await c.get("/alerts", headers={"authorization": "Bearer t0ken"})).status_code == 200


async def test_the_model_file_is_reread_after_a_reload(tmp_path: Path) -> None:
    import orjson

    path = tmp_path / "model.json"
    path.write_bytes(orjson.dumps(model()))
    async for c in _client(create_app(ConsoleConfig(model_path=path))):
        assert "Main" in (await c.get("/dashboards")).text
        changed = model()
        changed["dashboards"][0]["title"] = "Renamed"
        replacement = tmp_path / "next.json"
        replacement.write_bytes(orjson.dumps(changed))
        replacement.replace(path)
        assert "Renamed" in (await c.get("/dashboards")).text


def test_vendor_files_are_in_the_package() -> None:
    assert missing_vendor_files() == [], "run `make venv` (npm ci copies uPlot into the package)"


async def test_a_panel_with_its_own_lines_and_no_alert_renders() -> None:
    """Thresholds written on the panel carry no alert comparisons (``ops``): the page still renders."""
    panel = {**model()["dashboards"][0]["panels"][0], "title": "Status", "alert": None,
             "thresholds": {"warning": None, "critical": 0.5, "direction": "below"}}  # fmt: skip
    dashboards = [
        {"slug": "main", "title": "Main", "refresh": 30.0, "time_from": "now-1h", "panels": [panel]}
    ]
    async for c in _client(create_app(ConsoleConfig(model=model(dashboards=dashboards)))):
        page = await c.get("/dashboards/main")
        assert page.status_code == 200, page.text[:500]
        assert "critical ≤" in page.text
