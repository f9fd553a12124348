"""``alertmanager.yml``: the route tree by priority then severity, receivers, inhibitions.

Route order is the spec's: P1, P2, P3 (matching ``priority``), then critical,
warning (matching ``severity``), then the root route's receiver (``default``,
else the built-in ``tocsin`` receiver when no route exists at all, else a
receiver that drops everything). A route with several receivers notifies
each through child routes with ``continue: true``. Priorities repeat at their
own pace: P1 every 15 minutes (escalation), P2 every 2 hours, P3 every 4 hours,
unless the route says otherwise.

Inhibitions: a critical alert silences the warning of the same alert (same
alertname, service, slo, job, instance and the labels its expression groups
by), and a page-level SLO burn (fast) silences the ticket-level burn (slow)
of the same SLO.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tocsin.compile._yaml import dump_yaml
from tocsin.errors import SpecError
from tocsin.spec import BUILTIN_RECEIVER, DEFAULT_REPEAT, Receiver, Route, Spec, spec_problem
from tocsin.spec._promql import grouping_labels

__all__ = ["NULL_RECEIVER", "alertmanager_config", "emit", "expected_receivers"]

#: Receives what no route takes; it has no integrations, so nothing is sent.
NULL_RECEIVER = "blackhole"


def _receiver(spec: Spec, name: str, receiver: Receiver, env: Mapping[str, str]) -> dict[str, Any]:
    resolved = {"send_resolved": receiver.send_resolved}
    if receiver.email is not None:
        email = receiver.email
        config: dict[str, Any] = {
            "to": email.to if isinstance(email.to, str) else ", ".join(email.to),
            "from": email.from_,
            "smarthost": email.smarthost,
        }
        if email.auth_username:
            config["auth_username"] = email.auth_username
        if email.auth_password_file:
            config["auth_password_file"] = email.auth_password_file
        config["require_tls"] = email.require_tls
        return {"name": name, "email_configs": [{**resolved, **config}]}
    if receiver.slack is not None:
        slack: dict[str, Any] = {**resolved, "api_url_file": receiver.slack.api_url_file}
        if receiver.slack.channel:
            slack["channel"] = receiver.slack.channel
        slack["title"] = (
            "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})"
        )
        slack["text"] = "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}"
        return {"name": name, "slack_configs": [slack]}
    webhook = receiver.webhook
    assert webhook is not None
    url = webhook.url
    if webhook.url_env is not None:
        url = env.get(webhook.url_env)
        if not url:
            loc = ("receivers", name, "webhook", "url_env")
            raise SpecError(
                [spec_problem(spec, loc, f"${webhook.url_env} is not set", "export it, then compile")]
            )
    hook: dict[str, Any] = {**resolved, "url": url}
    if webhook.max_alerts:
        hook["max_alerts"] = webhook.max_alerts
    return {"name": name, "webhook_configs": [hook]}


def _timings(route: Route, repeat: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.group_by is not None:
        out["group_by"] = list(route.group_by)
    for key in ("group_wait", "group_interval"):
        if getattr(route, key):
            out[key] = getattr(route, key)
    if route.repeat_interval or repeat:
        out["repeat_interval"] = route.repeat_interval or repeat
    return out


def _fan_out(receivers: list[str]) -> dict[str, Any]:
    """One receiver directly; several through children that each notify and continue."""
    out: dict[str, Any] = {"receiver": receivers[0]}
    if len(receivers) > 1:
        out["routes"] = [
            {"receiver": name, **({"continue": True} if i < len(receivers) - 1 else {})}
            for i, name in enumerate(receivers)
        ]
    return out


def _root_receiver(spec: Spec) -> list[str]:
    if spec.routes.default is not None:
        return list(spec.routes.default.receivers)
    if not spec.routes.selectors() and spec.stack.receiver.enabled:
        return [BUILTIN_RECEIVER]
    return [NULL_RECEIVER]


def _inhibit_equal(spec: Spec) -> list[str]:
    """Labels a critical and a warning alert must share for the first to silence the second.

    Besides the identity labels, every label an alert's expression groups by (``sum by (queue)``):
    a critical on queue A must not silence the warning on queue B. A label absent from both
    alerts counts as equal, so adding one alert's grouping labels never affects the others.
    """
    grouping = {label for alert in spec.alerts for label in grouping_labels(alert.expr)}
    base = ["alertname", "service", "slo", "job", "instance"]
    return base + sorted(grouping - set(base))


def alertmanager_config(spec: Spec, env: Mapping[str, str]) -> dict[str, Any]:
    """The alertmanager.yml document."""
    routes = spec.routes
    children: list[dict[str, Any]] = []
    for label, key, route in routes.selectors():
        if label:
            repeat = DEFAULT_REPEAT.get(key) if label == "priority" else None
            children.append(
                {"matchers": [f'{label}="{key}"'], **_fan_out(route.receivers), **_timings(route, repeat)}
            )
    root_receivers = _root_receiver(spec)
    root: dict[str, Any] = {
        **_fan_out(root_receivers),
        "group_by": list(routes.group_by),
        "group_wait": routes.group_wait,
        "group_interval": routes.group_interval,
        "repeat_interval": routes.repeat_interval,
    }
    if routes.default is not None:
        root.update(_timings(routes.default, None))
    if "routes" in root:  # the default's fan-out children go after the selector routes
        children.extend(root.pop("routes"))
    if children:
        root["routes"] = children
    used = {name for _, _, route in routes.selectors() for name in route.receivers} | set(root_receivers)
    receivers = [_receiver(spec, name, r, env) for name, r in spec.receivers.items()]
    if BUILTIN_RECEIVER in used:
        url = f"http://{spec.stack.host}:{spec.stack.receiver.port}/webhook"
        receivers.append({"name": BUILTIN_RECEIVER, "webhook_configs": [{"send_resolved": True, "url": url}]})
    if NULL_RECEIVER in used:
        receivers.append({"name": NULL_RECEIVER})
    return {
        "route": root,
        "receivers": receivers,
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": _inhibit_equal(spec),
            },
            {
                "source_matchers": ['alertname="ErrorBudgetBurn"', 'severity="critical"'],
                "target_matchers": ['alertname="ErrorBudgetBurn"', 'severity="warning"'],
                "equal": ["slo"],
            },
        ],
    }


def expected_receivers(spec: Spec, labels: Mapping[str, str]) -> list[str]:
    """Receivers the route tree must pick for an alert with ``labels`` (checked with amtool)."""
    for label, key, route in spec.routes.selectors():
        if label and labels.get(label) == key:
            return list(route.receivers)
    return _root_receiver(spec)


def emit(spec: Spec, *, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``alertmanager/alertmanager.yml``."""
    source = Path(spec.source).name if spec.source else "a spec"
    header = f"Generated by tocsin from {source}: edit the spec, not this file."
    config = alertmanager_config(spec, os.environ if env is None else env)
    return {"alertmanager/alertmanager.yml": dump_yaml(config, header=header)}
