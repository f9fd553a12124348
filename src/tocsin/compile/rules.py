"""Threshold alerts, automatic ``TargetDown`` alerts, and a promtool unit test for each.

One alert definition with ``warning``/``critical`` compiles to a recording rule
``alert:<Name>:value`` holding the expression once, and one alerting rule per
level comparing it (``alert:OcrTooSlow:value > 3``). The recording rule is
what makes every alert testable without knowing the expression's inputs: the
generated promtool test feeds ``alert:<Name>:value`` directly with a value
beyond each threshold (fires exactly at ``for``, not one evaluation before)
and one at the boundary (stays silent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tocsin.compile._templates import expand
from tocsin.spec import Alert, Comparison, Service, Spec, clean_number, duration_seconds, format_duration
from tocsin.spec._labels import output_labels
from tocsin.spec._promql import grouping_labels

__all__ = [
    "alert_groups",
    "alert_units",
    "record_name",
    "target_down_rule",
    "threshold_rules",
]


def record_name(alert: Alert) -> str:
    """The recording rule that holds an alert's expression."""
    return f"alert:{alert.name}:value"


def _links(spec: Spec, alert: Alert) -> dict[str, str]:
    links: dict[str, str] = {}
    if alert.runbook:
        links["runbook_url"] = alert.runbook
    console = spec.stack.console
    for dashboard in spec.dashboards:
        for index, panel in enumerate(dashboard.panels):
            if panel.alert == alert.name and console.enabled and "dashboard_url" not in links:
                base = f"http://{spec.stack.host}:{console.port}"
                links["dashboard_url"] = f"{base}/dashboards/{dashboard.slug}#panel-{index}"
    return links


def _annotations(spec: Spec, alert: Alert, level: str, comparison: Comparison | None) -> dict[str, str]:
    for_text = f" for {alert.for_}" if alert.for_ else ""
    if comparison is None:
        summary = f"{alert.name} ({level})"
        description = f"{alert.expr} holds{for_text}."
    else:
        summary = f"{alert.name}: {{{{ $value | humanize }}}} {comparison} ({level})"
        description = (
            f"{alert.expr} is {{{{ $value | humanize }}}}, {comparison} (the {level} threshold){for_text}."
        )
    if "{{" in alert.expr or "}}" in alert.expr:
        description = f"The value is {{{{ $value | humanize }}}}{for_text}."
    return {
        "summary": alert.summary or summary,
        "description": alert.description or description,
        **_links(spec, alert),
    }


def _labels(alert: Alert, severity: str) -> dict[str, str]:
    labels = {"severity": severity, "priority": alert.priority}
    if alert.service:
        labels["service"] = alert.service
    return {**labels, **alert.labels}


def _level_order(alert: Alert) -> list[tuple[str, Comparison | None]]:
    """(severity, comparison) per alerting rule, critical first; comparison None for a plain condition."""
    levels = alert.levels()
    return [(lv, levels[lv]) for lv in ("critical", "warning") if lv in levels] or [
        (alert.severity or "", None)
    ]


def threshold_rules(spec: Spec, alert: Alert) -> list[dict[str, Any]]:
    """The recording rule and one alerting rule per level (critical first)."""
    rules: list[dict[str, Any]] = [{"record": record_name(alert), "expr": alert.expr}]
    for level, comparison in _level_order(alert):
        rule: dict[str, Any] = {
            "alert": alert.name,
            "expr": record_name(alert) if comparison is None else f"{record_name(alert)} {comparison}",
        }
        if alert.for_ and duration_seconds(alert.for_) > 0:
            rule["for"] = alert.for_
        rule["labels"] = _labels(alert, level)
        rule["annotations"] = _annotations(spec, alert, level, comparison)
        rules.append(rule)
    return rules


def target_down_rule(name: str, service: Service) -> dict[str, Any]:
    """``TargetDown`` for one service: ``up == 0`` for ``down.for``."""
    down = service.down
    return {
        "alert": "TargetDown",
        "expr": f'up{{job="{name}"}} == 0',
        "for": down.for_,
        "labels": {"severity": down.severity, "priority": down.priority, "service": name},
        "annotations": {
            "summary": f"{{{{ $labels.instance }}}} of {name} is down",
            "description": f"Prometheus could not scrape {{{{ $labels.instance }}}} (job {name})"
            f" for {down.for_}.",
        },
    }


def alert_units(spec: Spec) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """``(unit, rule group, promtool tests)``: one unit per service (its TargetDown and alerts),
    then ``_app`` (no service name starts with ``_``) for alerts of no service. Tests are kept per
    unit because promtool evaluates every rule of its rule files for every test: one file for all
    would be quadratic."""
    by_service: dict[str | None, list[Alert]] = {}
    for alert in spec.alerts:
        by_service.setdefault(alert.service, []).append(alert)
    units: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    for name, service in spec.services.items():
        alerts = by_service.get(name, [])
        rules = [target_down_rule(name, service)] if service.down.enabled else []
        tests = [_target_down_test(spec, name, service)] if service.down.enabled else []
        rules.extend(rule for alert in alerts for rule in threshold_rules(spec, alert))
        tests.extend(_threshold_test(spec, alert) for alert in alerts)
        if rules:
            units.append((name, {"name": f"{spec.app}.{name}", "rules": rules}, tests))
    loose = by_service.get(None, [])
    if loose:
        rules = [rule for alert in loose for rule in threshold_rules(spec, alert)]
        units.append(("_app", {"name": spec.app, "rules": rules}, [_threshold_test(spec, a) for a in loose]))
    return units


def alert_groups(spec: Spec) -> list[dict[str, Any]]:
    """Rule groups: one per service (its TargetDown and alerts), then one for alerts of no service."""
    return [group for _unit, group, _tests in alert_units(spec)]


# --- promtool unit tests -------------------------------------------------------------------------


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


def _series(metric: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metric}{{{inner}}}"


def _fire_times(for_: str | None, interval: float) -> tuple[float, float | None]:
    """When the alert must be firing, and the evaluation just before when it must still be pending."""
    wait = duration_seconds(for_) if for_ else 0.0
    fire = math.ceil(wait / interval) * interval
    return fire, (fire - interval if wait > 0 else None)


def _alert_test(
    name: str,
    metric: str,
    inputs: list[tuple[dict[str, str], Decimal]],
    rules: Sequence[tuple[dict[str, Any], Comparison | None]],
    interval: float,
    external: dict[str, str],
) -> dict[str, Any]:
    """One promtool test group: constant ``inputs`` series; the alert still pending one evaluation
    before ``for`` ends, then firing for exactly the inputs that cross each rule's comparison."""
    first = rules[0][0]
    fire, pending = _fire_times(first.get("for"), interval)
    steps = int(fire / interval) + 2
    expected: list[dict[str, Any]] = []
    for labels, value in inputs:
        for rule, comparison in rules:
            if comparison is not None and not comparison.holds(value):
                continue
            annotations = {
                k: expand(v, float(value), labels, external) for k, v in rule["annotations"].items()
            }
            expected.append({"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": annotations})
    checks: list[dict[str, Any]] = []
    if pending is not None:
        checks.append({"eval_time": format_duration(pending), "alertname": first["alert"], "exp_alerts": []})
    checks.append({"eval_time": format_duration(fire), "alertname": first["alert"], "exp_alerts": expected})
    uses_external = any("$externalLabels" in v for rule, _ in rules for v in rule["annotations"].values())
    return {
        "name": name,
        "interval": format_duration(interval),
        **({"external_labels": external} if uses_external else {}),
        "input_series": [
            {"series": _series(metric, labels), "values": f"{clean_number(value)}x{steps}"}
            for labels, value in inputs
        ],
        "alert_rule_test": checks,
    }


def _external(spec: Spec) -> dict[str, str]:
    """The external labels every Prometheus of the stack has (HA's ``replica`` differs, so it is left out)."""
    return {"app": spec.app, **spec.labels}


def _target_down_test(spec: Spec, name: str, service: Service) -> dict[str, Any]:
    interval = duration_seconds(spec.scrape.evaluation_interval)
    instance = service.targets[0] if service.targets else "127.0.0.1:9999"
    base = {"instance": instance, "job": name, "service": name, **service.labels}
    inputs = [(base, Decimal(0)), ({**base, "instance": "up.example:1"}, Decimal(1))]
    down = [(target_down_rule(name, service), Comparison("==", Decimal(0)))]
    return _alert_test(f"TargetDown {name}", "up", inputs, down, interval, _external(spec))


def _threshold_test(spec: Spec, alert: Alert) -> dict[str, Any]:
    interval = duration_seconds(spec.scrape.evaluation_interval)
    alerting = [rule for rule in threshold_rules(spec, alert) if "alert" in rule]
    rules = [(rule, comparison) for rule, (_, comparison) in zip(alerting, _level_order(alert), strict=True)]
    grouped = grouping_labels(alert.expr)
    if not grouped:  # ``time() - max by (job) (x)``: the by() is not outermost, the label bound finds it
        bound = output_labels(alert.expr)
        grouped = sorted(bound.names) if bound.closed else []
    kept = {label: "example" for label in grouped if label != "case"}
    inputs = [({**kept, "case": case}, value) for case, value in _case_values(alert).items()]
    return _alert_test(alert.name, record_name(alert), inputs, rules, interval, _external(spec))
