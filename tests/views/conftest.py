"""A live stack for the console's end-to-end tests: ``tocsin up`` (console included) on free ports, the
instrumented bookshop of ``make demo`` with traffic, and headless Debian Chromium through Playwright.

The fault is induced through the app itself: ``POST /api/readers/<n>`` moves the ``active_readers`` gauge
that the ``ReadersHigh`` alert watches. Screenshots go to ``build/screenshots/`` (docs/console.md uses them).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_ports, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip

SPEC = """\
version: tocsin/v1
app: bookshop
labels: {{environment: test}}
scrape: {{interval: 5s, evaluation_interval: 5s}}
stack:
  state_dir: {state}
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{port: {node_exporter}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{port: {console}}}
  logwatch: {{port: {logwatch}}}
services:
  bookshop: {{targets: ["127.0.0.1:{app}"], metrics_path: /metrics, health: /health}}
alerts:
  - name: ReadersHigh
    expr: max(bookshop_active_readers)
    warning: "> 5"
    critical: "> 20"
    for: 1m
    priority: P1
    service: bookshop
    runbook: https://runbooks.example.org/readers-high
    summary: "{{{{ $value }}}} readers"
routes: {{default: [tocsin]}}
logs:
  files:
    - {{path: app.log, source: bookshop, level: '\\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\]'}}
  patterns:
    - {{name: bookshop_log_errors, regex: 'ERROR'}}
dashboards:
  - title: Bookshop live
    time_from: now-15m
    refresh: 5s
    panels:
      - {{title: Requests/s by route, kind: timeseries, unit: reqps, legend: "{{{{route}}}}",
         expr: "sum by (route) (rate(bookshop_http_requests_total[30s]))"}}
      - {{title: Active readers, kind: stat, alert: ReadersHigh, expr: max(bookshop_active_readers)}}
      - {{title: Search p95, kind: gauge, unit: s, min: 0, max: 0.1,
         expr: "histogram_quantile(0.95, sum by (le) (rate(bookshop_search_duration_seconds_bucket[30s])))"}}
      - {{title: Requests by status, kind: bars,
         expr: "sum by (status) (increase(bookshop_http_requests_total[5m]))"}}
      - {{title: Requests per minute, kind: bars, range: 5m, period: 1m,
         expr: "sum(increase(bookshop_http_requests_total[1m]))"}}
      - {{title: Targets, kind: table, expr: up}}
      - {{title: Readers over time, kind: timeseries, alert: ReadersHigh, expr: max(bookshop_active_readers)}}
  - title: Bookshop totals
    uid: totals
    time_from: now-30m
    panels:
      - {{title: Downloads by format, kind: bars, expr: "sum by (format) (bookshop_ebook_downloads_total)"}}
"""


def tocsin(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


@dataclass
class LiveStack:
    spec: Path
    state: Path
    ports: dict[str, int]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=5))

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def console(self) -> str:
        return self.url("console")

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"{self.url('prometheus')}/api/v1/query", params={"query": expr})
        return answer.json()["data"]["result"]  # type: ignore[no-any-return]

    readers_now: int = 0

    def set_readers(self, count: int) -> None:
        """Move the gauge ReadersHigh watches (warning above 5, critical above 20) to ``count``."""
        self.http.post(f"{self.url('app')}/api/readers/{count - self.readers_now}").raise_for_status()
        self.readers_now = count

    def alert_state(self, name: str, severity: str) -> str:
        alerts = self.http.get(f"{self.url('prometheus')}/api/v1/alerts").json()["data"]["alerts"]
        mine = [a for a in alerts if a["labels"]["alertname"] == name and a["labels"]["severity"] == severity]
        return mine[0]["state"] if mine else "inactive"

    def notifications(self, alertname: str) -> list[dict[str, Any]]:
        answer = self.http.get(
            f"{self.url('receiver')}/api/v1/notifications", params={"alertname": alertname}
        )
        return answer.json()  # type: ignore[no-any-return]

    def tocsin(self, *args: str) -> subprocess.CompletedProcess[str]:
        return tocsin(*args)


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    from examples.demo.__main__ import start_app, traffic

    names = ("app", "prometheus", "alertmanager", "cluster", "pushgateway", "node_exporter", "receiver",
             "smtp", "console", "logwatch")  # fmt: skip
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    root = tmp_path_factory.mktemp("console-stack")
    spec = root / "tocsin.yaml"
    spec.write_text(SPEC.format(state=root / "state", **ports))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    (root / "app.log").write_text(
        f"{stamp} [INFO] [bookshop] 📦 Found 150 delivered orders\n"
        f"{stamp} [WARNING] [bookshop] ⚠️  Order 42 is incomplete\n"
        f"{stamp} [ERROR] [bookshop] ❌ Failed to connect to MongoDB\n"
    )
    server, thread = start_app(ports["app"])
    stop = threading.Event()
    threading.Thread(target=traffic, args=(f"http://127.0.0.1:{ports['app']}", stop), daemon=True).start()
    stack = LiveStack(spec, root / "state", ports)
    started = stack.tocsin("up", str(spec), "--profile", "fast", "--detach")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        up = lambda: stack.query('up{job="bookshop"}')[0]["value"][1] == "1"  # noqa: E731
        wait_for(up, timeout=60, interval=0.2, what="the bookshop target to be scraped")
        yield stack
    finally:
        stack.tocsin("down", str(spec))
        stop.set()
        server.should_exit = True
        thread.join(5)
        stack.http.close()


@dataclass
class Browser:
    """One Chromium page that records console errors and failed requests."""

    page: Any
    errors: list[str]

    def wait_js(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll a JavaScript expression until truthy (the console's CSP forbids wait_for_function's eval)."""
        return wait_for(
            lambda: self.page.evaluate(expression), timeout=timeout, interval=0.1, what=expression
        )

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser() -> Iterator[Browser]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/ensure-system-packages.sh installs it)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        try:
            yield Browser(page, errors)
        finally:
            chromium.close()
