"""``tocsin top``'s text panels: seed 003's LIVE and 7-day views from the seed's own spec."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text

from tocsin.spec import load_spec
from tocsin.views._text import alert_lines, panel_lines, sparkline
from tocsin.views.model import stack_model
from tocsin.views.units import format_value

SEED = Path(__file__).resolve().parents[2] / "examples" / "order_archiver" / "tocsin.yaml"


def _plain(lines: list[str]) -> str:
    return "\n".join(Text.from_markup(line).plain for line in lines)


def test_sparkline_scales_and_keeps_gaps() -> None:
    assert sparkline([0, 1, None, 2], 10) == "▁▄ █"
    assert sparkline([None, None], 5) == ""
    assert len(sparkline(list(range(100)), 20)) == 20


def test_seed_003_live_view() -> None:
    live, batch = stack_model(load_spec(SEED))["dashboards"]
    assert live["title"] == "Order archiver - LIVE" and batch["slug"] == "batch"
    panels = {p["title"]: p for p in live["panels"]}
    status = _plain(panel_lines(panels["Status"], {"value": 1.0, "status": "ok", "rows": []}))
    assert status == "Status  1  ✓ OK"
    errors = _plain(panel_lines(panels["Errors (24 h)"], {"value": 2.0, "status": "critical", "rows": []}))
    assert errors == "Errors (24 h)  2  ▲ CRITICAL"
    uptime = _plain(panel_lines(panels["Uptime"], {"value": 45240.0, "status": "ok", "rows": []}))
    assert "12.6 h" in uptime
    lag = panels["Change stream lag"]
    series = {"t": [1, 2, 3], "series": [{"name": "value", "values": [1.0, 2.3, None]}]}
    text = _plain(panel_lines(lag, {**series, "status": "ok"}, width=60))
    assert "2.3 s" in text and "▁█" in text


def test_seed_003_seven_day_bars_with_total() -> None:
    batch = stack_model(load_spec(SEED))["dashboards"][1]
    bars = batch["panels"][0]
    assert (bars["range"], bars["period"]) == (7 * 86400, 86400)
    now = time.time()
    days = [now - (6 - i) * 86400 for i in range(7)]
    counts = [1234.0, 1156.0, 1389.0, 1098.0, 1245.0, 567.0, 456.0]
    data = {"period": 86400, "t": days, "series": [{"name": "value", "values": counts}], "total": sum(counts)}
    text = _plain(panel_lines(bars, data, width=70))
    rows = text.splitlines()
    assert rows[0] == "Orders archived per day" and len(rows) == 9
    assert rows[1].strip().startswith(time.strftime("%a", time.localtime(days[0] - 86400)))
    assert "█" in rows[3] and rows[3].endswith(format_value(1389.0, "short"))
    assert rows[-1].split() == ["Total", format_value(sum(counts), "short")]


def test_alert_lines() -> None:
    alerts = [
        {"state": "pending", "labels": {"alertname": "B", "severity": "warning"},
         "activeAt": "2026-01-01T10:00:00Z"},
        {"state": "firing", "labels": {"alertname": "A", "severity": "critical", "priority": "P1"},
         "activeAt": "2026-01-01T09:00:00Z", "annotations": {"summary": "it broke"}},
    ]  # fmt: skip
    lines = [Text.from_markup(line).plain for line in alert_lines(alerts)]
    assert lines[0] == "● FIRING A critical P1 since 09:00:00  it broke"
    assert lines[1].startswith("○ PENDING B warning")
    assert Text.from_markup(alert_lines([])[0]).plain == "✓ no alert firing"
