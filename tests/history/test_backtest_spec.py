"""``tocsin backtest`` on a spec, over a week of known incidents in a real Prometheus (see conftest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.history.conftest import Week

from tocsin.cli import main
from tocsin.history.backtest import backtest_spec
from tocsin.spec import load_spec

pytestmark = pytest.mark.integration

SPEC = """\
version: tocsin/v1
app: bt
scrape: {{interval: 1m, evaluation_interval: 1m}}
stack: {{state_dir: state}}
services:
  orders: {{targets: ["127.0.0.1:9"], down: {{enabled: false}}}}
alerts:
  - name: OrdersQueue
    expr: sum(bt_queue)
    warning: "> {warning}"
    critical: "> {critical}"
    for: 5m
    priority: P1
    service: orders
receivers:
  team: {{webhook: {{url: "http://127.0.0.1:9/hook"}}}}
routes:
  group_wait: 30s
  P1: {{receivers: [team], repeat_interval: 15m}}
"""


def _spec(tmp_path: Path, name: str, warning: int = 10, critical: int = 20) -> Path:
    path = tmp_path / name
    path.write_text(SPEC.format(warning=warning, critical=critical))
    return path


def test_a_week_of_incidents(week: Week, tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "tocsin.yaml"))
    result = backtest_spec(week.url, spec, start=week.start, end=week.end)
    by_severity = {s.severity: s for s in result.summaries}
    critical, warning = by_severity["critical"], by_severity["warning"]
    assert critical.fired == 7  # 10:00 each day
    assert warning.fired == 14  # 10:00 and 15:00 each day
    # pending at the first evaluation over 20, firing 5 min later, resolved at the first one under
    assert critical.firing_seconds == 7 * 25 * 60 and critical.longest_seconds == 25 * 60
    assert warning.near_misses == 15 and warning.flaps == 0  # the 18:00 flaps never outlast for: 5m
    # Alertmanager: the critical silences the warning of the same alert; 15-minute repeats of a 25-minute
    # critical at 5-minute group ticks: first message, one repeat
    assert critical.notifications == 7 * 2
    at_10 = [n for n in result.notifications if n.firing and 36_000 <= (n.at - week.start) % 86_400 < 37_800]
    assert at_10 and all(a["severity"] == "critical" for n in at_10 for a in n.firing)
    assert warning.notifications == 7  # only 15:00's
    assert {n.receiver for n in result.notifications} == {"team"}


def test_cli_against_an_older_spec(week: Week, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _spec(tmp_path, "tocsin.yaml", warning=20, critical=30)  # 15:00's 15 no longer warns
    old = _spec(tmp_path, "old.yaml")
    common = ["--prometheus", week.url, "--since", str(week.start), "--until", str(week.end)]
    assert main(["backtest", str(new), "--against", str(old), *common]) == 0
    out = capsys.readouterr().out
    # old: 10:00 critical (first message + a repeat, the warning inhibited), 15:00 warning (one message);
    # new: 10:00 is a warning now (two messages), 15:00 quiet
    assert "old.yaml → tocsin.yaml" in out
    assert "tocsin.yaml removes 7 of 21 pages" in out
    assert main(["backtest", str(new), "--alert", "OrdersQueue", "--format", "json", *common]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(a["severity"], a["fired"]) for a in document["alerts"]] == [("critical", 0), ("warning", 7)]


def test_cli_errors(week: Week, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _spec(tmp_path, "tocsin.yaml")
    assert main(["backtest", str(spec), "--alert", "Nope", "--prometheus", week.url]) == 2
    assert "no alert 'Nope' in the spec (alerts: OrdersQueue)" in capsys.readouterr().err
    assert (
        main(["backtest", str(spec), "--against", str(tmp_path / "missing.yaml"), "--prometheus", week.url])
        == 2
    )
    assert "no such spec file" in capsys.readouterr().err
    assert main(["backtest", str(spec), "--prometheus", "http://127.0.0.1:9", "--since", "1h"]) == 1
    empty = tmp_path / "empty.yaml"
    empty.write_text("version: tocsin/v1\napp: e\n")
    assert main(["backtest", str(empty), "--prometheus", week.url]) == 2
    assert "no alerting rule to backtest" in capsys.readouterr().err


def test_the_other_spec_is_read_before_any_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong --against is said at once, not after the whole backtest (nor as 'Prometheus unreachable')."""
    spec = _spec(tmp_path, "tocsin.yaml")
    args = ["backtest", str(spec), "--prometheus", "http://127.0.0.1:9", "--since", "1h", "--against"]
    assert main([*args, str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: no such spec file" in capsys.readouterr().err
    broken = tmp_path / "old.yaml"
    broken.write_text("version: tocsin/v1\napp: bt\nalerts: [{name: X, expr: 'sum('}]\n")
    assert main([*args, str(broken)]) == 2
    assert "old.yaml:3:" in capsys.readouterr().err
