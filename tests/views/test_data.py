"""Panel data shaping: steps from the panel width, columns on the step grid, legends, statuses."""

from __future__ import annotations

import pytest

from tocsin.views._schema import PanelModel
from tocsin.views._time import choose_step, parse_time, seconds
from tocsin.views.data import legend_name, range_columns, status_of


def _panel(**overrides: object) -> PanelModel:
    base = {
        "index": 0, "anchor": "panel-0", "title": "t", "kind": "stat", "expr": "x", "unit": "short",
        "min": None, "max": None, "legend": None, "thresholds": None, "alert": None, "runbook": None,
        "range": None, "period": None,
    }  # fmt: skip
    return {**base, **overrides}  # type: ignore[typeddict-item]


def test_step_is_one_point_per_pixel_on_a_round_value() -> None:
    six_hours = 6 * 3600
    assert choose_step(0, six_hours, 600, 15) == 60  # 36 s per pixel -> 60 s
    assert choose_step(0, six_hours, 1440, 15) == 15  # never finer than the scrape interval
    assert choose_step(0, 300, 1000, 1) == 1
    assert choose_step(0, 365 * 86400, 100, 15) == 4 * 86400  # beyond the table: whole days
    assert choose_step(0, 10_000_000, 4000, 1) >= 10_000_000 / 11000  # Prometheus' point limit


def test_columns_share_one_time_axis_with_gaps() -> None:
    result = [
        {"metric": {"route": "/b"}, "values": [[100, "1"], [120, "NaN"]]},
        {"metric": {"route": "/a"}, "values": [[110, "2.5"]]},
    ]
    columns = range_columns(result, 100, 120, 10, "{{route}}")
    assert columns["t"] == [100, 110, 120]
    assert [s["name"] for s in columns["series"]] == ["/a", "/b"]
    assert columns["series"][0]["values"] == [None, 2.5, None]
    assert columns["series"][1]["values"] == [1.0, None, None]  # NaN is a gap


def test_legends() -> None:
    labels = {"__name__": "up", "job": "api", "instance": "a:1"}
    assert legend_name(labels, "{{job}} on {{ instance }}") == "api on a:1"
    assert legend_name(labels, None) == 'up{instance="a:1", job="api"}'
    assert legend_name({}, None) == "value"


@pytest.mark.parametrize(
    ("value", "lines", "status"),
    [
        (None, None, "nodata"),
        (5.0, None, "ok"),
        (15.0, {"warning": 10.0, "critical": 20.0, "direction": "above"}, "warning"),
        (20.0, {"warning": 10.0, "critical": 20.0, "direction": "above"}, "critical"),
        (4.0, {"warning": 5.0, "critical": None, "direction": "below"}, "warning"),
        (6.0, {"warning": 5.0, "critical": None, "direction": "below"}, "ok"),
    ],
)
def test_status_against_thresholds(value: float | None, lines: object, status: str) -> None:
    assert status_of(value, _panel(thresholds=lines)) == status


def test_times() -> None:
    assert parse_time("now", 1000.0) == 1000.0
    assert parse_time("now-1h", 10_000.0) == 6400.0
    assert parse_time("1700000000000", 0) == 1_700_000_000  # Grafana's milliseconds
    assert seconds("7d") == 7 * 86400
    for bad in ("yesterday", "now-1x", "nan"):
        with pytest.raises(ValueError, match="is not a time"):
            parse_time(bad)
