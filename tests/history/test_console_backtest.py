"""The console's alert page: its backtest over the known week (see conftest), in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.conftest import serve_uvicorn
from tests.history.conftest import Week
from tests.history.test_backtest_spec import _spec

from tocsin.spec import load_spec
from tocsin.views.console._app import create_app
from tocsin.views.console._state import ConsoleConfig
from tocsin.views.model import build_model

pytestmark = pytest.mark.integration
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def test_alert_page_shows_its_backtest(week: Week, tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "tocsin.yaml"))
    model = build_model(spec, prometheus=[week.url], alertmanager=[], receiver=None)
    assert [r["labels"]["severity"] for r in model["alerts"]["OrdersQueue"]["rules"]] == [
        "critical",
        "warning",
    ]
    base, stop = serve_uvicorn(create_app(ConsoleConfig(model=model)))
    try:
        page = httpx.get(f"{base}/alerts/OrdersQueue", params={"from": str(week.start), "to": str(week.end)})
        assert page.status_code == 200, page.text
        html = page.text
        # 7 critical episodes (10:00 daily), 14 warnings (10:00 and 15:00), as `tocsin backtest` finds
        assert html.count('class="backtest-rule"') == 2
        assert '<td class="fired">7</td>' in html and '<td class="fired">14</td>' in html
        assert html.count('class="episode critical"') == 7 and html.count('class="episode warning"') == 14
        assert html.count('class="episode pending"') == 15  # the 18:00 flaps that for: 5m absorbed
        assert httpx.get(f"{base}/alerts/Nope").status_code == 404
        bad = httpx.get(f"{base}/alerts/OrdersQueue", params={"from": "now", "to": "now-1h"})
        assert bad.status_code == 200 and "ends before it starts" in bad.text
        _screenshot(f"{base}/alerts/OrdersQueue?from={week.start}&to={week.end}")
    finally:
        stop()


def _screenshot(url: str) -> None:
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]  # fmt: skip
    errors: list[str] = []
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        box = page.locator("figure.backtest-timeline svg").bounding_box()
        assert box is not None and box["width"] > 500
        page.screenshot(path=str(SHOTS / "console-alert-backtest.png"), full_page=True)
        browser.close()
    assert errors == []
