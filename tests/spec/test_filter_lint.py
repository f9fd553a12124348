"""Lint: an alert given only a severity whose expression compares nothing fires whenever the series exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.spec import load_spec, spec_warnings

SPEC = """\
version: tocsin/v1
app: shop
alerts:
  - name: Errors
    severity: warning
    for: 5m
    expr: {expr}
"""


def _warnings(tmp_path: Path, expr: str) -> list[str]:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC.format(expr=expr), encoding="utf-8")
    return [str(w) for w in spec_warnings(load_spec(path)) if "compares nothing" in w.message]


@pytest.mark.parametrize(
    "expr",
    [
        "'sum(increase(log_lines_total{level=\"ERROR\"}[5m]))'",  # the field report: fired at 0
        "up",
        "rate(x_total[5m])",
        "'x > bool 5'",  # bool turns the comparison into 0/1: it filters nothing
        "'sum(x > 5) or vector(0)'",  # or: the right side is always there
        "changes(restarts_total[1h])",
    ],
)
def test_no_filter_warns_at_the_expression(tmp_path: Path, expr: str) -> None:
    [warning] = _warnings(tmp_path, expr)
    assert warning.startswith(f"{tmp_path / 'tocsin.yaml'}:7:11: alert 'Errors' fires whenever")
    assert warning.endswith(
        "(add a condition (e.g. '> 0'), or give warning/critical thresholds instead of severity)"
    )


@pytest.mark.parametrize(
    "expr",
    [
        "'sum(increase(log_lines_total{level=\"ERROR\"}[5m])) > 0'",
        "'up == 0'",
        "'count(up == 0)'",  # aggregating a filtered vector is empty when nothing passes
        "'absent(up{job=\"api\"})'",
        "'x and on (job) y'",
        "'x unless y'",
        "'(x > 5) * 2'",
        "'x > 1 or y > 2'",
        "'max_over_time((x > 5)[5m:])'",
        "vector(1)",  # a heartbeat (Watchdog): reads no series, fires by design
    ],
)
def test_a_condition_is_enough(tmp_path: Path, expr: str) -> None:
    assert _warnings(tmp_path, expr) == []


def test_thresholds_are_the_condition(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC.format(expr="up").replace("severity: warning", 'warning: "< 1"'), encoding="utf-8")
    assert not [w for w in spec_warnings(load_spec(path)) if "compares nothing" in w.message]


def test_check_prints_it_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("tocsin.yaml").write_text(SPEC.format(expr="up"), encoding="utf-8")
    assert main(["check", "--no-tools", "tocsin.yaml"]) == 0
    assert (
        "tocsin: warning: tocsin.yaml:7:11: alert 'Errors' fires whenever 'up' has a series"
        in capsys.readouterr().err
    )
