"""``tocsin report`` over a known week (see conftest): values, HTML in Chromium, Markdown with PNG charts."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from tests.history.conftest import Week

from tocsin.cli import main

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"

SPEC = """\
version: tocsin/v1
app: shop
scrape: {interval: 1m, evaluation_interval: 1m}
stack: {state_dir: state}
services:
  web: {targets: ["127.0.0.1:8000"]}
alerts:
  - name: WebErrors
    expr: sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))
    warning: "> 0.02"
    for: 5m
    service: web
  - name: OrdersQueue
    expr: sum(bt_queue)
    warning: "> 10"
    critical: "> 20"
    for: 5m
slos:
  - name: web-availability
    objective: 99.5
    errors: sum(rate(http_requests_total{status=~"5.."}[{{window}}]))
    total: sum(rate(http_requests_total[{{window}}]))
dashboards:
  - title: Shop
    panels:
      - {title: Queue, kind: timeseries, expr: sum(bt_queue), alert: OrdersQueue}
reports:
  - name: weekly
    title: Shop weekly report
    builtins: [traffic, errors, latency, slos, alerts, noise, ocr, orders]
    params: {cost_per_hour: 40}
    sections:
      - title: Queue
        dashboard: shop
        panels:
          - {title: Requests this week, kind: stat, expr: "sum(increase(http_requests_total[$__range]))"}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC)
    return path


def _report(week: Week, spec: Path, *extra: str) -> int:
    return main(
        ["report", "weekly", "--spec", str(spec), "--prometheus", week.url, "--until", str(week.end), *extra]
    )


def test_html_report_values(week: Week, spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "weekly.html"
    assert _report(week, spec, "--out", str(out)) == 0
    html = out.read_text()
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Shop weekly report" in html
    # traffic: 10.1 req/s for a week; errors: 0.1 of 10.1; latency p50 in the 0.1 bucket... p95 at 0.5 s
    assert "6.11M" in text and "10.1 req/s" in text
    assert "0.99 %" in text
    assert "500 ms" in text
    # SLO 99.5 %: attained 99.01 %, missed; budget left negative
    assert "99 %" in text and "missed" in text
    # seed 000: 11,088 documents a week, 1.5 s mean, 90.91 % success; cache: 2,016 hits x 1.5 s at 40 €/h
    assert (
        "11,088" in text and "1.5 s" in text and "90.91 %" in text and "50 min" in text and "33.6 €" in text
    )
    # seed 003: completeness 98 %, duplicates 1 %
    assert "98 %" in text and "1 %" in text
    # alerts from the stored ALERTS series: 7 times, 30 min each
    assert re.search(r"NightlyBackupSlow\s+warning\s+7\s+3 h 30", text)
    # noise: the backtest finds OrdersQueue's flaps never fired (near misses), WebErrors never fired
    assert "Never fired" in text and "WebErrors (warning)" in text
    assert (
        html.count("<svg") >= 5
        and "<script" not in html
        and "http"
        not in html.split("<body>", 1)[1]
        .replace("http_request", "")
        .replace("http://www.w3.org/2000/svg", "")
    )  # self-contained: nothing to fetch


@pytest.mark.browser
def test_html_report_renders_in_chromium(week: Week, spec: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    out = tmp_path / "weekly.html"
    assert _report(week, spec, "--out", str(out)) == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on(
            "request", lambda r: errors.append(f"fetched {r.url}") if not r.url.startswith("file:") else None
        )
        page.goto(out.as_uri())
        charts = page.locator("svg")
        assert charts.count() >= 5
        box = charts.first.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        # every chart drew something: a line (path) or bars (rects beside the background)
        drawn = page.evaluate(
            "[...document.querySelectorAll('svg')].map(s => [s.querySelectorAll('path').length,"
            " s.querySelectorAll('rect').length])"
        )
        assert all(paths >= 1 or rects >= 4 for paths, rects in drawn), drawn
        page.screenshot(path=str(SHOTS / "report-weekly.png"), full_page=True)
        browser.close()
    assert errors == []
    assert (SHOTS / "report-weekly.png").stat().st_size > 10_000


def test_markdown_report_with_png_charts(week: Week, spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "weekly.md"
    assert _report(week, spec, "--out", str(out)) == 0
    md = out.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) >= 5
    for link in links:
        png = out.parent / link
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| Documents processed | **11,088** |" in md


def test_report_errors_and_cron_behaviour(
    week: Week, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "nope", "--spec", str(spec), "--prometheus", week.url]) == 2
    assert "no report named 'nope' in the spec (reports: weekly)" in capsys.readouterr().err
    assert main(["report", "weekly", "--spec", str(spec), "--format", "md", "--prometheus", week.url]) == 2
    out = tmp_path / "kept.html"
    out.write_text("last week's report")
    assert (
        main(
            ["report", "weekly", "--spec", str(spec), "--prometheus", "http://127.0.0.1:9", "--out", str(out)]
        )
        == 1
    )
    assert out.read_text() == "last week's report"
    assert os.listdir(tmp_path).count("kept.html") == 1 and not [
        f for f in os.listdir(tmp_path) if f.endswith(".tmp")
    ]


def test_alerts_and_noise_read_the_receiver_history(week: Week, spec: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tocsin.stack.history import AlertHistory

    def stamp(ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")

    history = AlertHistory(tmp_path / "state" / "alerts.sqlite")  # the spec's stack.state_dir
    fired = week.start + 7200 + 86_400  # the second night's NightlyBackupSlow
    alert = {"labels": {"alertname": "NightlyBackupSlow", "severity": "warning"}, "fingerprint": "f1"}
    for status, ends in (("firing", "0001-01-01T00:00:00Z"), ("resolved", stamp(fired + 1800))):
        sent = {**alert, "status": status, "startsAt": stamp(fired), "endsAt": ends}
        payload = {"receiver": "team", "status": status, "groupKey": "g", "alerts": [sent]}
        history.record_webhook(payload)
    history.close()
    # received when they would have been: 30 s (group_wait) after firing, and 1 min after resolving
    with sqlite3.connect(tmp_path / "state" / "alerts.sqlite") as db:
        db.execute("UPDATE notifications SET received_at = ? WHERE status = 'firing'", (fired + 30,))
        db.execute("UPDATE notifications SET received_at = ? WHERE status = 'resolved'", (fired + 1860,))
    out = tmp_path / "weekly.html"
    assert _report(week, spec, "--out", str(out)) == 0
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text()))
    # one notification of it received; resolved notice 31 min after it started
    assert re.search(r"NightlyBackupSlow warning 7 3 h 30 30 min 1 31 min 0", text), text
    # OrdersQueue fires every day per the backtest, Alertmanager would have notified, nothing was received
    assert re.search(r"OrdersQueue \(critical\) always silenced \d+ notifications due, none received", text)


@pytest.mark.parametrize("period", ["day", "month"])
def test_other_periods(week: Week, spec: Path, tmp_path: Path, period: str) -> None:
    out = tmp_path / f"{period}.html"
    assert _report(week, spec, "--period", period, "--out", str(out)) == 0
    html = out.read_text()
    assert f"{period}: " in html
    # a day holds one 02:00 NightlyBackupSlow; a month (only a week stored) all seven
    expected = {"day": 1, "month": 7}[period]
    assert re.search(rf"NightlyBackupSlow</td><td>warning</td><td>{expected}</td>", html)


PREFIXED = """\
version: tocsin/v1
app: ocr
scrape: {interval: 1m, evaluation_interval: 1m}
stack: {state_dir: state}
services:
  ocr: {targets: ["127.0.0.1:3001"]}
reports:
  - name: weekly
    builtins: [traffic, errors, latency]
    params: {http_prefix: ocr}
"""


def test_http_sections_read_a_prefixed_apps_metrics(week: Week, tmp_path: Path) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(PREFIXED)
    out = tmp_path / "weekly.md"
    assert _report(week, spec, "--out", str(out)) == 0
    text = out.read_text()
    # ocr_http_requests_total: 2.02 req/s for a week = 1.22M, 12,096 of them 500s, all under 100 ms
    assert re.search(r"\| ocr \| 1\.22M \| 2\.02 req/s \|", text), text
    assert "| ocr | 12,096 | 0.99 % |" in text, text
    assert "| ocr | 50 ms | 95 ms | 99 ms |" in text, text
    spec.write_text(PREFIXED.replace("{http_prefix: ocr}", '{http_prefix: "-"}'))
    assert _report(week, spec, "--out", str(out)) == 0
    assert "1.22M" not in out.read_text()  # "-": tocsin's unprefixed names only


def test_http_sections_find_every_apps_prefix_without_being_told(week: Week, tmp_path: Path) -> None:
    """Two apps, one plain (``web``) and one under ``prefix="ocr"``: one read of the name index finds
    both, and each service's row holds its own app's figures (exact: the fixture's rates)."""
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        PREFIXED.replace("    params: {http_prefix: ocr}\n", "").replace(
            '  ocr: {targets: ["127.0.0.1:3001"]}',
            '  ocr: {targets: ["127.0.0.1:3001"]}\n  web: {targets: ["127.0.0.1:8000"]}',
        )
    )
    out = tmp_path / "weekly.md"
    assert _report(week, spec, "--out", str(out)) == 0
    text = out.read_text()
    assert re.search(r"\| ocr \| 1\.22M \| 2\.02 req/s \|", text), text
    assert re.search(r"\| web \| 6\.11M \| 10\.1 req/s \|", text), text  # 10.1 req/s for a week
    assert "| ocr | 12,096 | 0.99 % |" in text, text
    assert "| web | 60,480 | 0.99 % |" in text, text
    assert "| ocr | 50 ms | 95 ms | 99 ms |" in text, text
    assert "| prometheus |" not in text, text  # its own prometheus_http_* have no route label
    # --http-prefix overrides: only the plain names
    assert _report(week, spec, "--out", str(out), "--http-prefix", "-") == 0
    text = out.read_text()
    assert "1.22M" not in text and re.search(r"\| web \| 6\.11M", text), text
    # several prefixes given: both again, through one __name__ regex
    assert _report(week, spec, "--out", str(out), "--http-prefix", "ocr", "--http-prefix", "-") == 0
    text = out.read_text()
    assert re.search(r"\| ocr \| 1\.22M", text) and re.search(r"\| web \| 6\.11M", text), text
