"""Multi-window, multi-burn-rate SLO alerts (Google SRE workbook, ch. 5), as Sloth and Pyrra generate.

For an objective of 99.5 % the error budget is 0.005. Each SLO gets recording
rules ``slo:sli_error:ratio_rate<window>`` for the seven windows, and four
``ErrorBudgetBurn`` alerts, one per window pair, so each can be tested and
read on its own:

=========  ============  ======  ==========
severity   long/short    factor  budget use
=========  ============  ======  ==========
critical   1h / 5m       14.4    2 % in 1 h
critical   6h / 30m      6       5 % in 6 h
warning    1d / 2h       3       10 % in 1 d
warning    3d / 6h       1       10 % in 3 d
=========  ============  ======  ==========

Thresholds are computed in decimal (14.4 × 0.005 = 0.072, never
0.07200000000000001). Page alerts inhibit ticket alerts of the same SLO in
Alertmanager. The generated tests feed the recorded ratios directly: exactly
at a factor nothing fires (the rules use ``>``), 1 % above it the pair fires,
and a recovered short window silences it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from tocsin.compile._unit_tests import UnitTest
from tocsin.durations import duration_ms, format_duration_ms
from tocsin.spec import Slo, Spec, clean_number, expand_template, runbook_url

__all__ = ["BURN_WINDOWS", "WINDOWS", "BurnWindow", "ratio_record", "slo_groups", "slo_units"]


class BurnWindow(NamedTuple):
    """One alerting window pair."""

    long: str
    short: str
    factor: Decimal
    severity: str


BURN_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow("1h", "5m", Decimal("14.4"), "critical"),
    BurnWindow("6h", "30m", Decimal("6"), "critical"),
    BurnWindow("1d", "2h", Decimal("3"), "warning"),
    BurnWindow("3d", "6h", Decimal("1"), "warning"),
)
WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def ratio_record(window: str) -> str:
    """Recording rule name of the error ratio over ``window``."""
    return f"slo:sli_error:ratio_rate{window}"


def _threshold(slo: Slo, pair: BurnWindow) -> Decimal:
    return pair.factor * slo.error_budget


def _labels(slo: Slo, pair: BurnWindow) -> dict[str, str]:
    priority = slo.page_priority if pair.severity == "critical" else slo.ticket_priority
    labels = {"severity": pair.severity, "priority": priority, "slo": slo.name}
    if slo.service:
        labels["service"] = slo.service
    return {**labels, "long_window": pair.long, "short_window": pair.short, **slo.labels}


def _alert(slo: Slo, pair: BurnWindow) -> dict[str, Any]:
    threshold = clean_number(_threshold(slo, pair))
    selector = f'{{slo="{slo.name}"}}'
    budget = clean_number(slo.error_budget * 100)
    annotations = {
        "summary": f"SLO {slo.name}: error budget burning {clean_number(pair.factor)}x too fast "
        f"({pair.long}/{pair.short})",
        "description": slo.description
        or f"Error ratio over {pair.long} is {{{{ $value | humanizePercentage }}}}; the objective "
        f"{clean_number(Decimal(str(slo.objective)))}% allows {budget}%.",
    }
    if slo.runbook:
        annotations["runbook_url"] = slo.runbook
    return {
        "alert": "ErrorBudgetBurn",
        "expr": f"{ratio_record(pair.long)}{selector} > {threshold}"
        f" and {ratio_record(pair.short)}{selector} > {threshold}",
        "labels": _labels(slo, pair),
        "annotations": annotations,
    }


def _fill(template: str, window: str) -> str:
    return template.replace("{{window}}", window)


def _records(slo: Slo) -> list[dict[str, Any]]:
    labels = {"slo": slo.name, **({"service": slo.service} if slo.service else {})}
    return [
        {
            "record": ratio_record(window),
            "expr": f"({_fill(slo.errors, window)}) / ({_fill(slo.total, window)})",
            "labels": labels,
        }
        for window in WINDOWS
    ]


def _group(slo: Slo) -> dict[str, Any]:
    return {
        "name": f"slo.{slo.name}",
        "rules": [*_records(slo), *(_alert(slo, pair) for pair in BURN_WINDOWS)],
    }


def slo_groups(spec: Spec) -> list[dict[str, Any]]:
    """One rule group per SLO: its seven ratios, then its four burn-rate alerts."""
    return [_group(_linked(spec, slo)) for slo in spec.slos]


def _linked(spec: Spec, slo: Slo) -> Slo:
    """The SLO with its runbook as the link alerts carry (a local runbook's console page)."""
    if not slo.runbook:
        return slo
    return slo.model_copy(update={"runbook": runbook_url(spec, slo.runbook)})


def _case(
    slo: Slo, name: str, ratios: dict[str, Decimal], firing: list[BurnWindow], interval: str
) -> dict[str, Any]:
    selector = f'{{slo="{slo.name}"}}'
    expected = []
    for pair in firing:
        rule = _alert(slo, pair)
        value = float(ratios[pair.long])
        labels = {"slo": slo.name}
        expected.append(
            {
                "exp_labels": {**labels, **rule["labels"]},
                "exp_annotations": {
                    k: expand_template(v, value, labels) for k, v in rule["annotations"].items()
                },
            }
        )
    return {
        "name": f"{slo.name}: {name}",
        "interval": interval,
        "input_series": [
            {"series": f"{ratio_record(window)}{selector}", "values": f"{clean_number(value)}x2"}
            for window, value in ratios.items()
        ],
        "alert_rule_test": [{"eval_time": interval, "alertname": "ErrorBudgetBurn", "exp_alerts": expected}],
    }


def _slo_tests(slo: Slo, interval: str) -> list[dict[str, Any]]:
    """Per window pair: exactly at the factor (silent), 1 % above (fires), short window recovered
    (silent); plus every window burning just above 14.4 (all four fire) and just under 1x."""
    tests: list[dict[str, Any]] = []
    above, below = Decimal("1.01"), Decimal("0.99")
    for pair in BURN_WINDOWS:
        at = _threshold(slo, pair)
        window = f"{clean_number(pair.factor)}x {pair.long}/{pair.short}"
        tests.append(_case(slo, f"exactly {window}", {pair.long: at, pair.short: at}, [], interval))
        burning = {pair.long: at * above, pair.short: at * above}
        tests.append(_case(slo, f"above {window}", burning, [pair], interval))
        recovered = {pair.long: at * above, pair.short: at}
        tests.append(_case(slo, f"recovered {window}", recovered, [], interval))
    fast = {w: _threshold(slo, BURN_WINDOWS[0]) * above for w in WINDOWS}
    tests.append(_case(slo, "every window above 14.4x", fast, list(BURN_WINDOWS), interval))
    slow = {w: _threshold(slo, BURN_WINDOWS[-1]) * below for w in WINDOWS}
    tests.append(_case(slo, "every window under 1x", slow, [], interval))
    return tests


def slo_units(spec: Spec) -> list[tuple[str, dict[str, Any], list[UnitTest]]]:
    """``(slo name, rule group, promtool tests)`` per SLO; the tests feed the ratio recordings."""
    interval = duration_ms(spec.scrape.evaluation_interval)
    fed = frozenset(ratio_record(window) for window in WINDOWS)
    units = []
    for slo in (_linked(spec, s) for s in spec.slos):
        tests = [UnitTest(interval, test, fed) for test in _slo_tests(slo, format_duration_ms(interval))]
        units.append((slo.name, _group(slo), tests))
    return units
