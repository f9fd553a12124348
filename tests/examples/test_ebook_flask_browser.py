"""Seed 002's frontend monitoring in a real browser: the ebook app under gunicorn (as the example runs
it), its pages opened in headless Chromium, and the beacon's reports — First Contentful Paint, the
page's API calls and a JavaScript error — merged from both workers on the app's /metrics (Time to
Interactive needs 5 quiet seconds on a page: the pack's own browser test covers it).

The end-to-end test posts what a beacon would (its readers are threads, not browsers); this one
shows the real beacon, mounted in Flask through ``DispatcherMiddleware``, does it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def _free_port() -> int:
    return free_port()


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """The example's setup, then ``serve`` (gunicorn, two workers) on a free port; dropped after."""
    run_id = secrets.token_hex(3)
    names = ["--db", f"tocsin_ebook_flask_{run_id}", "--redis-user", f"tocsin_ebook_{run_id}",
             "--prefix", f"ebook_{run_id}", "--secrets-dir", str(tmp_path / "secrets")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    command = [sys.executable, "-m", "examples.ebook_flask"]
    subprocess.run(
        [*command, "setup", *names], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True
    )
    port = _free_port()
    with (tmp_path / "serve.txt").open("wb") as out:
        server = subprocess.Popen(
            [*command, "serve", *names, "--port", str(port), "--log-dir", str(tmp_path / "logs"),
             "--state-dir", str(tmp_path / "state")],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/api/health/ready", timeout=2).status_code == 200, 60,
                 interval=0.2, what=f"the app on {url}")  # fmt: skip
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        subprocess.run(
            [*command, "drop", *names], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True
        )


def _metric(url: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples carrying ``labels``, from the app's merged /metrics."""
    page = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.integration
@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_beacon_of_the_apps_pages_reports_through_gunicorn(app_url: str) -> None:
    playwright: Any = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/ensure-system-packages.sh installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{app_url}/")
            page.wait_for_selector("#books li")  # the catalog page fetched /api/books
            page.goto(f"{app_url}/books/3")
            page.wait_for_function("document.getElementById('scenes').textContent.includes('scenes')")
            # a broken script on the reader page: what the frontend-errors fault stands for
            page.evaluate("setTimeout(function () { throw new Error('reader.js is broken'); }, 0)")
            page.wait_for_timeout(200)
            page.close()  # pagehide: the beacon sends what it has left
        finally:
            browser.close()

    def reported() -> bool:
        return (
            _metric(app_url, "frontend_first_contentful_paint_seconds_count", page="/") >= 1
            and _metric(app_url, "frontend_first_contentful_paint_seconds_count", page="/books/:id") >= 1
            and _metric(app_url, "frontend_js_errors_total", page="/books/:id") >= 1
            and _metric(app_url, "frontend_api_requests_total", endpoint="/api/books/:id", status="2xx") >= 1
        )

    wait_for(reported, 30, interval=0.5, what="the beacon's reports on /metrics")
    assert _metric(app_url, "frontend_api_requests_total", endpoint="/api/books", status="2xx") >= 1
    assert _metric(app_url, "frontend_beacons_rejected_total") == 0
    # the server side saw the same pages, labelled by Flask's rules
    assert _metric(app_url, "http_requests_total", route="/books/<int:book_id>", status="200") >= 1
    assert _metric(app_url, "http_requests_total", route="/api/books/<int:book_id>", status="200") >= 1
