"""``tocsin export`` against a real Prometheus holding a known week (see conftest)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import httpx
import pytest
from tests.conftest import free_port
from tests.history.conftest import RAW_INTERVAL, Week, known_value

from tocsin.cli import main
from tocsin.history._times import MAX_POINTS, TimeRange, parse_time, plan_chunks
from tocsin.history.export import export_range, write_csv

pytestmark = pytest.mark.integration


def _direct(url: str, query: str, start: float, end: float, step: float) -> dict[str, dict[float, str]]:
    """query_range straight to the API (one request, must be under the limit): series → {ts: value}."""
    answer = httpx.get(
        f"{url}/api/v1/query_range", params={"query": query, "start": start, "end": end, "step": step}
    ).json()
    assert answer["status"] == "success", answer
    return {r["metric"]["series"]: {ts: v for ts, v in r["values"]} for r in answer["data"]["result"]}


def _csv(text: str) -> dict[str, dict[float, str]]:
    out: dict[str, dict[float, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        ts = datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp()
        points = out.setdefault(row["series"], {})
        assert ts not in points, f"duplicate point {row}"
        points[ts] = row["value"]
    return out


def test_a_week_at_30s_is_over_the_limit_for_one_request(week: Week) -> None:
    points = (week.end - week.start) // 30
    assert points > MAX_POINTS
    answer = httpx.get(
        f"{week.url}/api/v1/query_range",
        params={"query": "hx_gauge", "start": week.start, "end": week.end, "step": 30},
    )
    assert answer.status_code == 400 and "11,000 points" in answer.json()["error"]


def test_csv_export_equals_direct_queries_across_chunk_edges(
    week: Week, capsys: pytest.CaptureFixture[str]
) -> None:
    # 20,161 steps; 1,000 per request puts 20 chunk edges in the week
    code = main(
        ["export", "hx_gauge", "--prometheus", week.url, "--since", str(week.start), "--until", str(week.end),
         "--step", "30s", "--max-points", "1000"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    exported = _csv(captured.out)
    assert sorted(exported) == ["s0", "s1", "s2"]
    span = TimeRange(week.start, week.end, 30)
    for points in exported.values():
        assert len(points) == span.points
        assert sorted(points) == [week.start + 30 * i for i in range(span.points)]
    # the direct API, in pieces it accepts, agrees on every point
    for piece in plan_chunks(span, max_points=MAX_POINTS):
        direct = _direct(week.url, "hx_gauge", piece.start, piece.end, 30)
        for name, points in direct.items():
            for ts, value in points.items():
                assert exported[name][ts] == value
    # and the stored values are the known ones, on both sides of every chunk edge
    for chunk in plan_chunks(span, max_points=1000)[1:]:
        for ts in (chunk.start - 30, chunk.start):
            t = int(ts)
            assert float(exported["s1"][ts]) == known_value(1, t - t % RAW_INTERVAL)


def test_json_export_is_a_prometheus_matrix(week: Week, tmp_path: pytest.TempPathFactory) -> None:
    out = tmp_path / "week.json"  # type: ignore[operator]
    code = main(
        ["export", 'hx_gauge{series="s2"}', "--prometheus", week.url, "--since", str(week.start),
         "--until", str(week.end), "--step", "1m", "--format", "json", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    matrix = json.loads(out.read_text())
    assert matrix["resultType"] == "matrix"
    (series,) = matrix["result"]
    assert series["metric"] == {"__name__": "hx_gauge", "series": "s2"}
    assert len(series["values"]) == 7 * 1440 + 1
    assert all(float(v) == known_value(2, int(ts)) for ts, v in series["values"])


def test_parallel_export_equals_serial_chunks(week: Week) -> None:
    span = TimeRange(week.start, week.end, 60)
    query = "rate(hx_gauge[5m])"
    serial = export_range(week.url, query, span, concurrency=1, max_points=700)
    parallel = export_range(week.url, query, span, concurrency=8, max_points=700)
    assert [s.points for s in serial] == [s.points for s in parallel]
    assert [s.labels for s in parallel] == [{"series": f"s{i}"} for i in range(3)]
    text = io.StringIO()
    assert write_csv(parallel, text) == 3 * (span.points - 1)  # rate() needs two samples: none at start


def test_relative_and_absolute_times() -> None:
    now = 1_750_000_000.0
    assert parse_time("24h", now) == now - 86_400
    assert parse_time("now", now) == now
    assert parse_time("now-2h", now) == now - 7200
    assert parse_time("2025-01-06", now) == datetime(2025, 1, 6, tzinfo=UTC).timestamp()
    assert parse_time("2025-01-06T08:00:00Z", now) == datetime(2025, 1, 6, 8, tzinfo=UTC).timestamp()
    assert parse_time("2025-01-06T09:00:00+01:00", now) == datetime(2025, 1, 6, 8, tzinfo=UTC).timestamp()
    assert parse_time("1736150400", now) == 1736150400.0


def test_bad_promql_exits_2(week: Week, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "sum(rate(x[5m])", "--prometheus", week.url]) == 2
    assert "invalid PromQL" in capsys.readouterr().err
    # parses, but Prometheus refuses a range vector in a range query (bad_data): still a usage error
    assert main(["export", "hx_gauge[5m]", "--prometheus", week.url, "--since", "1h"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tocsin: Prometheus at") and "range vector" in err and "\n" not in err.strip()


def test_absurd_sizes_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "up", "--prometheus", "http://127.0.0.1:9", "--since", "10y", "--step", "1s"]) == 2
    assert "use a larger --step" in capsys.readouterr().err
    assert main(["export", "up", "--prometheus", "http://127.0.0.1:9", "--max-points", "20000"]) == 2
    assert "Prometheus' limit" in capsys.readouterr().err


def test_bad_times_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "up", "--prometheus", "http://127.0.0.1:9", "--since", "yesterday"]) == 2
    assert "--since 'yesterday' is neither" in capsys.readouterr().err
    assert main(["export", "up", "--prometheus", "http://127.0.0.1:9", "--since", "1h", "--until", "2h"]) == 2
    assert "before it starts" in capsys.readouterr().err


def test_unreachable_prometheus_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: pytest.TempPathFactory
) -> None:
    out = tmp_path / "kept.csv"  # type: ignore[operator]
    out.write_text("yesterday's export\n")
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["export", "up", "--prometheus", url, "--since", "1h", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{url}/api/v1/query_range: cannot connect (ConnectError: " in err, err
    assert f"is Prometheus running at {url}? (`tocsin status` says; `tocsin up` starts the stack" in err, err
    assert out.read_text() == "yesterday's export\n"  # not truncated by the failed run


def test_exports_declared_in_the_spec(
    week: Week, tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "tocsin.yaml"  # type: ignore[operator]
    spec.write_text(
        "version: tocsin/v1\napp: shop\nexports:\n"
        f'  - {{name: s0-hourly, query: \'hx_gauge{{series="s0"}}\', since: "{week.start}",\n'
        "      step: 1h, format: json}\n"
    )
    until = str(week.end)
    assert (
        main(
            [
                "export",
                "--spec-export",
                "s0-hourly",
                "--spec",
                str(spec),
                "--prometheus",
                week.url,
                "--until",
                until,
            ]
        )
        == 0
    )
    (series,) = json.loads(capsys.readouterr().out)["result"]
    assert len(series["values"]) == 7 * 24 + 1
    assert main(["export", "--spec-export", "nope", "--spec", str(spec), "--prometheus", week.url]) == 2
    assert "no export named 'nope' in the spec (exports: s0-hourly)" in capsys.readouterr().err
