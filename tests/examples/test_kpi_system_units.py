"""The KPI system's own logic, without the stack: the three detection methods on real numbers, the
ETL's validation, the guard's key file, rate limiter and inspection (the e2e test covers the rest)."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from examples.kpi_system.__main__ import read_key, write_keys
from examples.kpi_system.catalogue import BASELINES, NOISE
from examples.kpi_system.detection import MIN_HISTORY, detect, iqr, modified_zscore, zscore
from examples.kpi_system.etl import validate
from examples.kpi_system.guard import RateLimiter, inspect, load_keys


def _normal_history(n: int = 200, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    base = BASELINES["blaze"]["revenue"]
    return [base * (1 + rng.uniform(-NOISE, NOISE)) for _ in range(n)]


def test_scores_match_their_textbook_definitions() -> None:
    history = [10.0, 12.0, 11.0, 13.0, 9.0, 10.0, 12.0, 14.0, 8.0, 11.0]
    mean, stdev = statistics.fmean(history), statistics.stdev(history)
    assert zscore(20.0, history) == pytest.approx((20 - mean) / stdev)
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    assert modified_zscore(20.0, history) == pytest.approx(0.6745 * (20 - median) / mad)
    q1, _, q3 = statistics.quantiles(history, n=4, method="inclusive")
    assert iqr(20.0, history) == pytest.approx((20 - q3) / (q3 - q1))
    assert iqr(median, history) == 0.0


def test_no_spread_gives_no_score() -> None:
    flat = [5.0] * 30
    assert zscore(6.0, flat) is None and iqr(6.0, flat) is None and modified_zscore(6.0, flat) is None
    assert detect([6.0], flat) == []


@pytest.mark.parametrize("seed", range(5))
def test_the_traffics_noise_is_never_an_anomaly(seed: int) -> None:
    # uniform within ±10 %: |z| <= 1.8, inside the Tukey fences, modified z <= 1.4: nothing to report
    values = _normal_history(400, seed)
    for i in range(MIN_HISTORY, len(values)):
        assert detect([values[i]], values[max(0, i - 200) : i]) == [], i


def test_a_spike_is_high_for_every_method() -> None:
    history = _normal_history()
    findings = detect([BASELINES["blaze"]["revenue"] * 20], history)
    assert {(f.method, f.severity) for f in findings} == {
        ("zscore", "high"), ("iqr", "high"), ("modified_zscore", "high"),
    }  # fmt: skip


def test_a_short_history_or_a_non_finite_value_judges_nothing() -> None:
    assert detect([1e6], _normal_history(MIN_HISTORY - 1)) == []
    assert detect([float("nan"), float("inf")], _normal_history()) == []


def test_validation_names_each_kind_of_bad_record() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    good = {"metric": "revenue", "value": 1250.5, "period": "2026-12-01T11:00:00+01:00"}
    assert validate(good, now) == ("revenue", 1250.5, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    cases = {
        "missing_field": [{"metric": "revenue", "period": "2026-12-01"}, "not a dict", None],
        "unknown_metric": [{**good, "metric": "revenu"}],
        "type_error": [{**good, "value": "12 EUR"}, {**good, "value": True}, {**good, "value": None}],
        "out_of_range": [{**good, "value": -1}, {**good, "value": 2e9}, {**good, "value": float("nan")}],
        "bad_period": [
            {**good, "period": "31/12/2025"},
            {**good, "period": (now + timedelta(days=1)).isoformat()},
        ],
    }
    for error, records in cases.items():
        for record in records:
            assert validate(record, now) == error, record


def test_keys_are_written_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "api-keys"
    write_keys(path)
    assert path.stat().st_mode & 0o777 == 0o600
    keys = load_keys(path)
    assert sorted(keys.values()) == ["dashboard", "intruder", "partner", "scraper", "traffic"]
    assert len({read_key(path, c) for c in keys.values()}) == 5  # one random key each
    assert len(read_key(path, "traffic")) >= 24
    with pytest.raises(ValueError, match="no key for client 'nobody'"):
        read_key(path, "nobody")


@pytest.mark.parametrize("text", ["client:short", "no separator here at all", ""])
def test_a_bad_key_file_is_refused_at_its_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "keys"
    path.write_text(text + "\n")
    with pytest.raises(ValueError, match=str(path)):
        load_keys(path)


def test_the_rate_limiter_allows_the_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=10)
    assert sum(limiter.allow("a", now=0.0) for _ in range(30)) == 20  # the burst: twice the rate
    assert not limiter.allow("a", now=0.05)
    assert limiter.allow("a", now=0.1)  # one token a tenth of a second
    assert limiter.allow("b", now=0.1)  # per client


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("revenue' OR 1=1 --", "sql_injection"),
        ("x' and 'a'='a", "sql_injection"),
        ("1 UNION ALL SELECT password FROM users", "sql_injection"),
        ("revenue'; DROP TABLE kpi_record; --", "sql_injection"),
        ("/api/models/../../etc/passwd/kpis", "path_traversal"),
        ("%2e%2e%2fetc", "path_traversal"),
        ("<script>alert(1)</script>", "xss"),
        ("revenue", None),
        ("churn_rate", None),
        ("/api/models/aurora/kpis", None),
        ("O'Brien & Sons", None),
    ],
)
def test_inspection(text: str, kind: str | None) -> None:
    assert inspect(text) == kind
