"""Profiles take a plan's time-scaled values down to seconds without editing the plan: ``extends``,
``thresholds`` (pack alerts included), ``ranges`` and ``time_scale``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.errors import SpecError
from tocsin.spec import load_spec
from tocsin.spec._profiles import rewrite_ranges

SPEC = """\
version: tocsin/v1
app: archiver
services:
  watch: {targets: ["127.0.0.1:8031"]}
packs:
  - {use: jobs, job: archiver, items: orders, done: archived}
alerts:
  - name: ConnectionLost
    expr: sum(increase(connection_errors_total[10m])) > 3
    severity: critical
    for: 5m
  - name: Lag
    expr: max(lag_seconds)
    warning: "> 10"
    critical: "> 30"
    for: 10m
  - name: Regex
    expr: 'sum(rate(http_requests_total{path=~"/a/[0-9]+"}[1h])) + max_over_time(up[30m:1m])'
    warning: "> 1"
routes: {default: [tocsin]}
"""


def _load(tmp_path: Path, profiles: str, name: str = "fast") -> object:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC + profiles, encoding="utf-8")
    return load_spec(path, profile=name)


def _alert(spec: object, name: str) -> object:
    return next(a for a in spec.alerts if a.name == name)  # type: ignore[attr-defined]


def test_extends_keeps_the_builtin_and_adds_thresholds_and_ranges(tmp_path: Path) -> None:
    profiles = """\
profiles:
  fast:
    extends: fast
    thresholds: {Lag: {warning: "> 3", critical: "> 8"}, ArchiverJobSlow: {warning: "> 2"}}
    ranges: {10m: 20s, 1h: 30s}
"""
    spec = _load(tmp_path, profiles)
    assert spec.scrape.interval == "1s"  # type: ignore[attr-defined]  # the built-in fast's
    lag = _alert(spec, "Lag")
    assert (lag.warning, lag.critical, lag.for_) == ("> 3", "> 8", "2s")  # type: ignore[attr-defined]
    assert _alert(spec, "ArchiverJobSlow").warning == "> 2"  # type: ignore[attr-defined]  # a pack's alert
    assert _alert(spec, "ConnectionLost").expr == "sum(increase(connection_errors_total[20s])) > 3"  # type: ignore[attr-defined]
    regex = _alert(spec, "Regex").expr  # type: ignore[attr-defined]
    assert '[0-9]+"}[30s]))' in regex and "up[30m:1m]" in regex  # strings untouched, unlisted range kept


def test_without_the_profile_the_plan_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC + "profiles:\n  fast: {extends: fast, thresholds: {Lag: {warning: '> 3'}}}\n")
    spec = load_spec(path)
    assert _alert(spec, "Lag").warning == "> 10"  # type: ignore[attr-defined]
    assert "[10m]" in _alert(spec, "ConnectionLost").expr  # type: ignore[attr-defined]


def test_time_scale_divides_for_and_ranges_with_floors(tmp_path: Path) -> None:
    profiles = "profiles:\n  quick: {scrape_interval: 1s, evaluation_interval: 1s, time_scale: 60,\n"
    profiles += "          ranges: {1h: 45s}}\n"
    spec = _load(tmp_path, profiles, "quick")
    assert _alert(spec, "Lag").for_ == "10s"  # type: ignore[attr-defined]
    assert _alert(spec, "ConnectionLost").for_ == "5s"  # type: ignore[attr-defined]
    assert "[10s]" in _alert(spec, "ConnectionLost").expr  # type: ignore[attr-defined]
    regex = _alert(spec, "Regex").expr  # type: ignore[attr-defined]
    assert "[45s]" in regex  # the explicit range wins over the scale
    assert "up[30s:1m]" in regex  # 30m / 60, a subquery's step kept
    slow = _alert(spec, "ArchiverJobNotSucceeded")  # a pack alert: for 10m -> 10s
    assert slow.for_ == "10s"  # type: ignore[attr-defined]


def test_a_scaled_range_stays_above_four_scrape_intervals(tmp_path: Path) -> None:
    profiles = "profiles:\n  quick: {scrape_interval: 5s, time_scale: 1000}\n"
    spec = _load(tmp_path, profiles, "quick")
    assert "[20s]" in _alert(spec, "ConnectionLost").expr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("profiles", "message"),
    [
        ("profiles:\n  fast:\n    extends: fast\n    thresholds: {Lagg: {warning: '> 3'}}\n",
         ":24:24: profile 'fast': thresholds for unknown alert 'Lagg'"),
        ("profiles:\n  fast:\n    extends: fast\n    thresholds: {Lag: {warning: '> 40'}}\n",
         ":24:23: profile 'fast' breaks alert 'Lag': critical > 30 must be beyond warning > 40"),
        ("profiles:\n  a: {extends: b}\n  b: {extends: a}\n", "profiles extend in a loop: a -> b -> a"),
        ("profiles:\n  fast: {extends: slow}\n", "unknown profile 'slow'"),
    ],
)  # fmt: skip
def test_bad_overrides_are_spec_errors_at_their_line(tmp_path: Path, profiles: str, message: str) -> None:
    name = "a" if "a: {" in profiles else "fast"
    with pytest.raises(SpecError) as err:
        _load(tmp_path, profiles, name)
    assert message in str(err.value)


def test_check_with_the_profile_runs_promtool_on_the_scaled_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(
        SPEC
        + "profiles:\n  fast: {extends: fast, ranges: {10m: 20s},\n"
        + "         thresholds: {Lag: {critical: '> 8', warning: '> 3'}}}\n"
    )
    assert main(["check", str(path), "--profile", "fast", "--no-tools"]) == 0


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("rate(x[5m])", "rate(x[S])"),
        ('x{a="[5m]"} + rate(y[5m])', 'x{a="[5m]"} + rate(y[S])'),
        ("x{a='\\'[5m]'}[5m]", "x{a='\\'[5m]'}[S]"),
        ("max_over_time(x[5m:30s])", "max_over_time(x[S:30s])"),
        ("x[ 5m ]", "x[S]"),
        ("x[5m] offset 1h", "x[S] offset 1h"),
    ],
)
def test_rewrite_ranges_skips_strings(expr: str, expected: str) -> None:
    assert rewrite_ranges(expr, lambda d: "S") == expected
