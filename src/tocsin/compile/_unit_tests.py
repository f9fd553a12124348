"""promtool unit tests for every generated alert, and the files that hold them.

A test feeds the series an alerting rule reads (``alert:<Name>:value``, the SLO
ratios, ``up``) directly, so it holds whatever the alert's expression is. Three
things keep every valid spec's tests passing:

- the rule file a test loads is its unit's group *without* the recording rules whose
  series the test feeds: an expression that has a value with no input at all
  (``vector(1)``, ``absent(x)``, ``sum(x) or vector(0)``) would otherwise add a second,
  unexpected series next to the fed one;
- label and annotation templates are expanded exactly as Prometheus would
  (``severity: "{{ $labels.level }}"``, ``$value``), a label whose value is empty is
  no label, and label values are escaped in series selectors;
- a test never needs more than :data:`MAX_STEPS` evaluations: an alert whose ``for``
  is long next to the evaluation interval (``for: 3d`` every 15 s) goes into a test
  file evaluated less often, a multiple of the interval, so promtool stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tocsin.compile.rules import AlertUnit, level_order, record_name, target_down_rule, threshold_rules
from tocsin.durations import duration_ms, format_duration_ms
from tocsin.spec import (
    Alert,
    Comparison,
    Service,
    Spec,
    clean_number,
    expand_template,
    grouping_labels,
    output_labels,
)

__all__ = [
    "MAX_STEPS",
    "UnitTest",
    "alert_tests",
    "evaluation_interval_for",
    "external_labels",
    "series",
    "unit_test_files",
]

#: Most evaluations one test may need; beyond, its file is evaluated less often.
MAX_STEPS = 1000


@dataclass(frozen=True)
class UnitTest:
    """One promtool test group, the evaluation interval it needs, and the recorded series it feeds."""

    evaluation_interval_ms: int
    group: dict[str, Any]
    fed: frozenset[str] = frozenset()


def evaluation_interval_for(for_ms: int, evaluation_ms: int) -> int:
    """The evaluation interval a test of an alert with ``for_ms`` uses: the spec's, or a multiple of it
    keeping the test within :data:`MAX_STEPS` evaluations."""
    return evaluation_ms * max(1, math.ceil(for_ms / evaluation_ms / MAX_STEPS))


def _escape(value: str) -> str:
    """A label value inside a PromQL string literal (promtool's series notation)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series(metric: str, labels: dict[str, str]) -> str:
    """``metric{a="b"}`` in promtool's input_series notation, values escaped."""
    inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{metric}{{{inner}}}"


def external_labels(spec: Spec) -> dict[str, str]:
    """The external labels every Prometheus of the stack has (HA's ``replica`` differs, so it is left out)."""
    return {"app": spec.app, **spec.labels}


def _case_values(alert: Alert) -> dict[str, Decimal]:
    """Test series values: one beyond each level, one at the boundary that must stay silent."""
    levels = alert.levels()
    if not levels:
        return {"firing": Decimal(1)}
    warning, critical = levels.get("warning"), levels.get("critical")
    mildest = warning or critical
    assert mildest is not None
    if warning is not None and critical is not None:
        gap = abs(critical.value - warning.value)
    else:
        gap = abs(mildest.value) or Decimal(1)
    sign = Decimal(1) if mildest.upward else Decimal(-1)
    values: dict[str, Decimal] = {}
    for level, comparison in levels.items():
        values[level] = comparison.value + sign * gap / 2
    if mildest.op in ("==",):
        values = {level: c.value for level, c in levels.items()}
        values["quiet"] = mildest.value + gap
    elif mildest.op in (">", "<", "!="):
        values["quiet"] = mildest.value
    else:
        values["quiet"] = mildest.value - sign * gap / 2
    return values


def _alert_test(
    name: str,
    metric: str,
    inputs: list[tuple[dict[str, str], Decimal]],
    rules: Sequence[tuple[dict[str, Any], Comparison | None]],
    evaluation_ms: int,
    external: dict[str, str],
) -> UnitTest:
    """Constant ``inputs`` series; each rule still pending one evaluation before its ``for`` ends, then
    firing for exactly the inputs that cross its comparison (levels may wait differently long)."""
    first = rules[0][0]
    waits = [duration_ms(rule["for"]) if rule.get("for") else 0 for rule, _ in rules]
    interval = evaluation_interval_for(max(waits), evaluation_ms)
    fires = [math.ceil(wait / interval) * interval for wait in waits]

    def firing_at(time_ms: int) -> list[dict[str, Any]]:
        expected: list[dict[str, Any]] = []
        for labels, value in inputs:
            for (rule, comparison), fire in zip(rules, fires, strict=True):
                if fire > time_ms or (comparison is not None and not comparison.holds(value)):
                    continue
                sample = float(value)
                rule_labels = {
                    k: expand_template(v, sample, labels, external) for k, v in rule["labels"].items()
                }
                annotations = {
                    k: expand_template(v, sample, labels, external) for k, v in rule["annotations"].items()
                }
                exp_labels = {k: v for k, v in {**labels, **rule_labels}.items() if v}  # "" is no label
                expected.append({"exp_labels": exp_labels, "exp_annotations": annotations})
        return expected

    times: set[int] = set()
    for wait, fire in zip(waits, fires, strict=True):
        times.update((fire - interval, fire) if wait > 0 else (fire,))
    checks = [
        {"eval_time": format_duration_ms(t), "alertname": first["alert"], "exp_alerts": firing_at(t)}
        for t in sorted(times)
    ]
    steps = max(fires) // interval + 2
    templates = [v for rule, _ in rules for v in (*rule["annotations"].values(), *rule["labels"].values())]
    group = {
        "name": name,
        "interval": format_duration_ms(interval),
        **({"external_labels": external} if any("$externalLabels" in v for v in templates) else {}),
        "input_series": [
            {"series": series(metric, labels), "values": f"{clean_number(value)}x{steps}"}
            for labels, value in inputs
        ],
        "alert_rule_test": checks,
    }
    return UnitTest(interval, group, frozenset({metric}) if metric != "up" else frozenset())


def _target_down_test(spec: Spec, name: str, service: Service) -> UnitTest:
    instance = service.targets[0] if service.targets else "127.0.0.1:9999"
    base = {"instance": instance, "job": name, "service": name, **service.labels}
    inputs = [(base, Decimal(0)), ({**base, "instance": "up.example:1"}, Decimal(1))]
    down = [(target_down_rule(spec, name, service), Comparison("==", Decimal(0)))]
    evaluation = duration_ms(spec.scrape.evaluation_interval)
    return _alert_test(f"TargetDown {name}", "up", inputs, down, evaluation, external_labels(spec))


def _threshold_test(spec: Spec, alert: Alert) -> UnitTest:
    alerting = [rule for rule in threshold_rules(spec, alert) if "alert" in rule]
    rules = [(rule, comparison) for rule, (_, comparison) in zip(alerting, level_order(alert), strict=True)]
    grouped = grouping_labels(alert.expr)
    if not grouped:  # ``time() - max by (job) (x)``: the by() is not outermost, the label bound finds it
        bound = output_labels(alert.expr)
        grouped = sorted(bound.names) if bound.closed else []
    kept = {label: "example" for label in grouped if label != "case" and not label.startswith("__")}
    inputs = [({**kept, "case": case}, value) for case, value in _case_values(alert).items()]
    evaluation = duration_ms(spec.scrape.evaluation_interval)
    return _alert_test(alert.name, record_name(alert), inputs, rules, evaluation, external_labels(spec))


def alert_tests(spec: Spec, unit: AlertUnit) -> list[UnitTest]:
    """The tests of one unit: its TargetDown, then each alert."""
    tests = [_target_down_test(spec, *unit.target_down)] if unit.target_down is not None else []
    return tests + [_threshold_test(spec, alert) for alert in unit.alerts]


def unit_test_files(
    stem: str, units: Sequence[tuple[str, dict[str, Any], list[UnitTest]]], dump: Any
) -> dict[str, str]:
    """``prometheus/tests/`` for one rule file: per unit, its group without the fed recording rules
    (``units/``) and one test file per evaluation interval its tests need."""
    files: dict[str, str] = {}
    for unit, group, tests in units:
        if not tests:
            continue
        fed = frozenset().union(*(test.fed for test in tests))
        rules = [rule for rule in group["rules"] if rule.get("record") not in fed]
        name = stem if len(units) == 1 else f"{stem}-{unit}"
        files[f"prometheus/tests/units/{name}.yml"] = dump({"groups": [{**group, "rules": rules}]})
        intervals = sorted({test.evaluation_interval_ms for test in tests})
        for interval in intervals:
            suffix = "" if interval == intervals[0] else f"-every-{format_duration_ms(interval)}"
            test_file = {
                "rule_files": [f"units/{name}.yml"],
                "evaluation_interval": format_duration_ms(interval),
                "tests": [test.group for test in tests if test.evaluation_interval_ms == interval],
            }
            files[f"prometheus/tests/{name}{suffix}_test.yml"] = dump(test_file)
    return files
