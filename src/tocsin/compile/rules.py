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

from typing import Any, NamedTuple

from tocsin.spec import (
    Alert,
    Comparison,
    Service,
    Spec,
    duration_seconds,
    runbook_url,
)

__all__ = [
    "AlertUnit",
    "alert_groups",
    "alert_units",
    "level_order",
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
        links["runbook_url"] = runbook_url(spec, alert.runbook)
    console = spec.stack.console
    for dashboard in spec.dashboards:
        for index, panel in enumerate(dashboard.panels):
            if panel.alert == alert.name and console.enabled and "dashboard_url" not in links:
                base = f"http://{spec.stack.host}:{console.port}"
                links["dashboard_url"] = f"{base}/dashboards/{dashboard.slug}#panel-{index}"
    return links


#: the longest expression a default description quotes
_QUOTED_EXPR = 120


def _annotations(spec: Spec, alert: Alert, level: str, comparison: Comparison | None) -> dict[str, str]:
    wait = alert.for_level(level)
    for_text = f" for {wait}" if wait else ""
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
    elif len(alert.expr) > _QUOTED_EXPR:
        # a long expression (a pack's baseline rule is ~300 characters) buries the value in every
        # notification; the expression is one click away (generatorURL, the console's alert page)
        description = (
            f"The condition holds{for_text}."
            if comparison is None
            else f"The value is {{{{ $value | humanize }}}}, {comparison} (the {level} threshold){for_text}."
        )
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


def level_order(alert: Alert) -> list[tuple[str, Comparison | None]]:
    """(severity, comparison) per alerting rule, critical first; comparison None for a plain condition."""
    levels = alert.levels()
    return [(lv, levels[lv]) for lv in ("critical", "warning") if lv in levels] or [
        (alert.severity or "", None)
    ]


def threshold_rules(spec: Spec, alert: Alert) -> list[dict[str, Any]]:
    """The recording rule and one alerting rule per level (critical first)."""
    rules: list[dict[str, Any]] = [{"record": record_name(alert), "expr": alert.expr}]
    for level, comparison in level_order(alert):
        rule: dict[str, Any] = {
            "alert": alert.name,
            "expr": record_name(alert) if comparison is None else f"{record_name(alert)} {comparison}",
        }
        wait = alert.for_level(level)
        if wait and duration_seconds(wait) > 0:
            rule["for"] = wait
        rule["labels"] = _labels(alert, level)
        rule["annotations"] = _annotations(spec, alert, level, comparison)
        rules.append(rule)
    return rules


def target_down_rule(spec: Spec, name: str, service: Service) -> dict[str, Any]:
    """``TargetDown`` for one service: ``up == 0`` for ``down.for``."""
    down = service.down
    links = {"runbook_url": runbook_url(spec, down.runbook)} if down.runbook else {}
    return {
        "alert": "TargetDown",
        "expr": f'up{{job="{name}"}} == 0',
        "for": down.for_,
        "labels": {"severity": down.severity, "priority": down.priority, "service": name},
        "annotations": {
            "summary": f"{{{{ $labels.instance }}}} of {name} is down",
            "description": f"Prometheus could not scrape {{{{ $labels.instance }}}} (job {name})"
            f" for {down.for_}.",
            **links,
        },
    }


class AlertUnit(NamedTuple):
    """One rule group and what it was made from (its promtool tests are made from the same)."""

    name: str
    group: dict[str, Any]
    #: the service whose TargetDown rule the group holds, if any
    target_down: tuple[str, Service] | None
    alerts: list[Alert]


def alert_units(spec: Spec) -> list[AlertUnit]:
    """One unit per service (its TargetDown and alerts), then ``_app`` (no service name starts with
    ``_``) for alerts of no service. Tests are kept per unit because promtool evaluates every rule of
    its rule files for every test: one file for all would be quadratic."""
    by_service: dict[str | None, list[Alert]] = {}
    for alert in spec.alerts:
        by_service.setdefault(alert.service, []).append(alert)
    units: list[AlertUnit] = []
    for name, service in spec.services.items():
        alerts = by_service.get(name, [])
        rules = [target_down_rule(spec, name, service)] if service.down.enabled else []
        rules.extend(rule for alert in alerts for rule in threshold_rules(spec, alert))
        if rules:
            down = (name, service) if service.down.enabled else None
            units.append(AlertUnit(name, {"name": f"{spec.app}.{name}", "rules": rules}, down, alerts))
    loose = by_service.get(None, [])
    if loose:
        rules = [rule for alert in loose for rule in threshold_rules(spec, alert)]
        units.append(AlertUnit("_app", {"name": spec.app, "rules": rules}, None, loose))
    return units


def alert_groups(spec: Spec) -> list[dict[str, Any]]:
    """Rule groups: one per service (its TargetDown and alerts), then one for alerts of no service."""
    return [unit.group for unit in alert_units(spec)]
