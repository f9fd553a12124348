"""Spec → :class:`~tocsin.views._schema.ViewModel`: the one dashboard model every view renders.

Runs where the spec is loaded anyway (``tocsin up``, ``reload``, ``tocsin console SPEC``, ``tocsin top
SPEC``); thresholds come from the linked alerts here, once, so the console, ``tocsin top`` and Grafana
(:mod:`tocsin.compile.grafana`, from the same spec) draw the same lines.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from tocsin.history.checklist import check_items
from tocsin.spec import (
    Alert,
    Dashboard,
    PanelThresholds,
    Spec,
    duration_seconds,
    is_local_runbook,
    long_term_query_url,
    runbook_slug,
)
from tocsin.views._runbooks import runbook_pages
from tocsin.views._schema import (
    MODEL_FILE,
    MODEL_VERSION,
    AlertInfo,
    DashboardModel,
    LogsInfo,
    LongTermInfo,
    PanelModel,
    ServiceInfo,
    Thresholds,
    ViewModel,
)

__all__ = ["build_model", "model_files", "stack_model"]


def _runbook_link(runbook: str | None) -> str | None:
    """Where the console links an alert's runbook: a local one's own page, a URL as it is."""
    if runbook and is_local_runbook(runbook):
        return f"/runbooks/{runbook_slug(runbook)}"
    return runbook


def _thresholds(lines: PanelThresholds | None, alert: Alert | None) -> Thresholds | None:
    """The panel's lines; those drawn from an alert keep its comparisons (``ops``)."""
    if lines is None:
        return None
    model: Thresholds = {"warning": lines.warning, "critical": lines.critical, "direction": lines.direction}
    if alert is not None:
        model["ops"] = {level: comparison.op for level, comparison in alert.levels().items()}
    return model


def _dashboard(spec: Spec, dashboard: Dashboard) -> DashboardModel:
    panels: list[PanelModel] = []
    for index, panel in enumerate(dashboard.panels):
        lines = spec.panel_thresholds(panel)
        alert = spec.alert(panel.alert) if panel.alert else None
        panels.append(
            {
                "index": index,
                "anchor": f"panel-{index}",
                "title": panel.title,
                "kind": panel.kind,
                "expr": panel.expr,
                "unit": panel.unit,
                "min": panel.min,
                "max": panel.max,
                "legend": panel.legend,
                "thresholds": _thresholds(lines, alert if panel.thresholds is None else None),
                "alert": panel.alert,
                "runbook": _runbook_link(alert.runbook) if alert is not None else None,
                "range": duration_seconds(panel.range) if panel.range else None,
                "period": duration_seconds(panel.period) if panel.period else None,
            }
        )
    return {
        "slug": dashboard.slug,
        "title": dashboard.title,
        "refresh": duration_seconds(dashboard.refresh),
        "time_from": dashboard.time_from,
        "panels": panels,
    }


def _alerts(spec: Spec, dashboards: list[DashboardModel]) -> dict[str, AlertInfo]:
    where: dict[str, str] = {}
    for board in dashboards:
        for panel in board["panels"]:
            if panel["alert"] and panel["alert"] not in where:
                where[panel["alert"]] = f"/dashboards/{board['slug']}#{panel['anchor']}"
    from tocsin.history.backtest.light import rule_models

    rules: dict[str, list[dict[str, Any]]] = {}
    try:
        compiled = rule_models(spec)  # compiled once: each alert's page replays its own
    except (ValueError, KeyError, TypeError):  # an odd included rule file: no backtest, still a console
        compiled = []
    for rule in compiled:
        rules.setdefault(rule["alert"], []).append(rule)
    alerts: dict[str, AlertInfo] = {
        a.name: {
            "priority": a.priority,
            "runbook": _runbook_link(a.runbook),
            "service": a.service,
            "panel": where.get(a.name),
            "rules": rules.get(a.name, []),
        }
        for a in spec.alerts
    }
    for slo in spec.slos:
        alerts.setdefault(
            slo.name,
            {
                "priority": slo.page_priority,
                "runbook": _runbook_link(slo.runbook),
                "service": slo.service,
                "panel": None,
            },
        )
    return alerts


def _services(spec: Spec) -> dict[str, ServiceInfo]:
    services: dict[str, ServiceInfo] = {}
    for name, service in spec.services.items():
        health = [f"http://{target}{service.health}" for target in service.targets] if service.health else []
        services[name] = {"health": health, "targets": list(service.targets)}
    return services


def _logs(spec: Spec) -> LogsInfo | None:
    if spec.logs is None:
        return None
    store = spec.logs.store
    base = Path(spec.source).parent if spec.source else Path.cwd()
    return {"enabled": store.enabled, "db": str((base / store.path).resolve()) if store.path else None}


def _long_term(spec: Spec) -> LongTermInfo | None:
    url = long_term_query_url(spec.stack)
    if url is None:
        return None
    return {"url": url, "retention": duration_seconds(spec.stack.prometheus.retention)}


def build_model(
    spec: Spec,
    *,
    prometheus: list[str],
    alertmanager: list[str],
    receiver: str | None,
) -> ViewModel:
    """The view model of ``spec`` for a stack whose components answer at these URLs."""
    dashboards = [_dashboard(spec, d) for d in spec.dashboards]
    return {
        "version": MODEL_VERSION,
        "app": spec.app,
        "scrape_interval": duration_seconds(spec.scrape.interval),
        "prometheus": prometheus,
        "alertmanager": alertmanager,
        "receiver": receiver,
        "dashboards": dashboards,
        "alerts": _alerts(spec, dashboards),
        "services": _services(spec),
        "logs": _logs(spec),
        "runbooks": runbook_pages(spec),
        "long_term": _long_term(spec),
        "checklist": [{**asdict(i), "runbook": _runbook_link(i.runbook)} for i in check_items(spec)],
    }


def model_files(model: ViewModel) -> dict[str, str]:
    """The model as a bundle file (``console/model.json``), for ``install_bundle``."""
    return {MODEL_FILE: orjson.dumps(model, option=orjson.OPT_INDENT_2).decode()}


def stack_model(spec: Spec, *, ha: bool = False) -> ViewModel:
    """The view model for the stack the spec's ``stack:`` section describes (``tocsin up [--ha]``)."""
    stack = spec.stack

    def url(port: int) -> str:
        return f"http://{stack.host}:{port}"

    prometheus = [url(stack.prometheus.port)] if stack.prometheus.enabled else []
    alertmanager = [url(stack.alertmanager.port)] if stack.alertmanager.enabled else []
    if ha:
        prometheus += [url(stack.ha.prometheus.port)] if stack.prometheus.enabled else []
        alertmanager += [url(stack.ha.alertmanager.port)] if stack.alertmanager.enabled else []
    receiver = url(stack.receiver.port) if stack.receiver.enabled else None
    return build_model(spec, prometheus=prometheus, alertmanager=alertmanager, receiver=receiver)
