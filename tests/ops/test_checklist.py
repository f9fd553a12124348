"""Seed 003's daily checklist against a real Prometheus holding eight days of known samples.

Two TSDBs are backfilled with promtool: a healthy archiver, where every item of the plan's list must
pass, and a broken one built so that each item fails for its own reason (restarted 2 h ago, errors
logged today, 90 % archived, 25 s of lag, 10 % of the disk free, a resume token an hour old, triple
the usual traffic). The real CLI is run on the seed's own spec.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.history._prom import backfill, prometheus, write_openmetrics

from tocsin.ops.checklist import run_checklist
from tocsin.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "order_archiver" / "tocsin.yaml"
DAY = 86_400
ITEMS = [
    "watch-running",
    "no-errors-24h",
    "archive-rate",
    "stream-lag",
    "disk-free",
    "resume-token-saved",
    "volume-matches-traffic",
]

pytestmark = pytest.mark.integration

Series = list[tuple[str, dict[str, str], Callable[[int], float | None]]]


def archiver(start: int, end: int, *, broken: bool) -> Series:
    """Eight days of the archiver; ``broken`` makes each checklist item fail on the last day."""
    last_day = end - DAY
    job = {"job": "watch"}
    logs = {"job": "logwatch"}

    def found(t: int) -> float:  # one order a minute, three a minute on the last day when broken
        base = (min(t, last_day) - start) / 60
        return base + (3 if broken else 1) * max(0, t - last_day) / 60

    share = 0.9 if broken else 0.995
    restarted = end - 7200
    return [
        ("orders_found_logged_total", logs, found),
        ("orders_archived_logged_total", {**logs, "mode": "batch"}, lambda t: share * found(t)),
        (
            "change_stream_uptime_seconds",
            job,
            lambda t: float(t - restarted if broken and t >= restarted else t - start),
        ),
        ("log_lines_total", {**logs, "level": "INFO", "source": "watch"}, lambda t: (t - start) / 10),
        (
            "log_lines_total",
            {**logs, "level": "ERROR", "source": "batch"},
            lambda t: 4.0 + (2 if broken and t > end - 3600 else 0),
        ),
        ("change_stream_lag_seconds", job, lambda t: 25.0 if broken else 2.3),
        ("change_stream_resume_token_age_seconds", job, lambda t: 3600.0 if broken else 30.0),
        ("node_filesystem_avail_bytes", _fs(), lambda t: 10e9 if broken else 40e9),
        ("node_filesystem_size_bytes", _fs(), lambda t: 100e9),
        ("node_filesystem_avail_bytes", _fs("tmpfs", "/run"), lambda t: 0.0),  # not a real disk: ignored
        ("node_filesystem_size_bytes", _fs("tmpfs", "/run"), lambda t: 1e9),
    ]


def _fs(fstype: str = "ext4", mountpoint: str = "/") -> dict[str, str]:
    return {"job": "node", "fstype": fstype, "mountpoint": mountpoint, "device": "/dev/vda"}


@pytest.fixture(scope="module")
def window() -> tuple[int, int]:
    end = int(time.time()) // 60 * 60 - 3600  # promtool backfills the past only
    return end - 8 * DAY, end


def _stack(root: Path, start: int, end: int, broken: bool) -> Iterator[str]:
    om = root / "data.om"
    write_openmetrics(om, archiver(start, end, broken=broken), start, end, 60)
    backfill(om, root / "tsdb")
    om.unlink()
    with prometheus(root / "tsdb") as url:
        yield url


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory, window: tuple[int, int]) -> Iterator[str]:
    yield from _stack(tmp_path_factory.mktemp("healthy"), *window, broken=False)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, window: tuple[int, int]) -> Iterator[str]:
    yield from _stack(tmp_path_factory.mktemp("broken"), *window, broken=True)


def test_the_seed_lists_the_plans_seven_items() -> None:
    spec = load_spec(SEED)
    assert [i.name for i in spec.checklist] == ITEMS
    assert {i.period for i in spec.checklist} == {"day"}


def test_every_item_passes_on_a_healthy_archiver(healthy: str, window: tuple[int, int]) -> None:
    result = run_checklist(load_spec(SEED), healthy, at=window[1])
    outcome = {i.name: (i.status, i.detail) for i in result.items}
    assert all(status == "pass" for status, _ in outcome.values()), outcome
    assert result.passed
    rate = next(i for i in result.items if i.name == "archive-rate")
    assert rate.detail == "99.5 % (meets > 0.99)"


def test_every_item_fails_on_the_broken_archiver(broken: str, window: tuple[int, int]) -> None:
    result = run_checklist(load_spec(SEED), broken, at=window[1])
    outcome = {i.name: i for i in result.items}
    assert {n: i.status for n, i in outcome.items()} == dict.fromkeys(ITEMS, "fail")
    assert outcome["watch-running"].detail == "2h 0m (does not meet > 82800)"
    assert outcome["no-errors-24h"].samples[0].value == "2"
    assert outcome["archive-rate"].detail.startswith("90 % (does not meet")
    assert outcome["stream-lag"].detail == "25 s (does not meet < 10)"
    assert outcome["disk-free"].detail == "10 % (does not meet > 0.2)"
    assert outcome["resume-token-saved"].detail == "1h 0m (does not meet < 600)"
    assert float(outcome["volume-matches-traffic"].samples[0].value) == pytest.approx(2.0, abs=0.01)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_cli_exit_codes_and_json_for_cron(healthy: str, broken: str, window: tuple[int, int]) -> None:
    at = str(window[1])
    ok = _cli("checklist", str(SEED), "--prometheus", healthy, "--at", at)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all 7 passed" in ok.stdout
    bad = _cli("checklist", str(SEED), "--prometheus", broken, "--at", at, "--json")
    assert bad.returncode == 1, bad.stderr
    payload = json.loads(bad.stdout)
    assert payload["passed"] is False and payload["failed"] == ITEMS
    one = _cli("checklist", str(SEED), "--prometheus", healthy, "--at", at, "--item", "stream-lag", "--json")
    assert one.returncode == 0 and [i["name"] for i in json.loads(one.stdout)["items"]] == ["stream-lag"]


def test_an_unreachable_prometheus_is_an_error_not_a_pass(window: tuple[int, int]) -> None:
    from tests.conftest import free_port

    result = run_checklist(load_spec(SEED), f"http://127.0.0.1:{free_port()}", at=window[1], timeout=2)
    assert {i.status for i in result.items} == {"error"}
    assert not result.passed
    out = _cli("checklist", str(SEED), "--prometheus", f"http://127.0.0.1:{free_port()}", "--period", "week")
    assert out.returncode == 2 and "no checklist item for period 'week'" in out.stderr


def test_the_console_page_and_the_report_section_give_the_same_verdicts(
    healthy: str, broken: str, window: tuple[int, int]
) -> None:
    import html
    import re

    import httpx
    from tests.conftest import serve_uvicorn

    from tocsin.history.report import build_report, render_html
    from tocsin.spec import Report
    from tocsin.views.console import ConsoleConfig, create_app
    from tocsin.views.model import stack_model

    spec = load_spec(SEED)
    for url, status in ((healthy, "pass"), (broken, "fail")):
        expected = {i.name: i.detail for i in run_checklist(spec, url, at=window[1]).items}
        doc = build_report(url, spec, Report(name="r", builtins=["checklist"]), end=window[1], period="day")
        (section,) = doc.sections
        (table,) = section.items
        assert [row[3] for row in table.rows] == list(expected.values())  # type: ignore[attr-defined]
        assert all(row[0] == ("✓ pass" if status == "pass" else "✗ FAIL") for row in table.rows)  # type: ignore[attr-defined]
        assert "Checklist at" in render_html(doc)
        model = stack_model(spec)
        model["prometheus"] = [url]
        base, stop = serve_uvicorn(create_app(ConsoleConfig(model=model)))
        try:
            page = httpx.get(f"{base}/checklist", params={"at": str(window[1])}, timeout=30).text
            bad_time = httpx.get(f"{base}/checklist", params={"at": "yesterday-ish"}, timeout=30)
        finally:
            stop()
        statuses = dict(
            (n, s) for s, n in re.findall(r'class="rule checklist-(\w+)" data-item="([\w-]+)"', page)
        )
        assert statuses == dict.fromkeys(ITEMS, status), page
        for detail in expected.values():
            assert html.escape(detail, quote=False) in page
        assert 'href="/checklist"' in page
        assert bad_time.status_code == 400 and "at:" in bad_time.text
