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
from tocsin.compile.secrets import default_secrets_dir, secret_key
from tocsin.errors import SpecError
from tocsin.spec import (
    BUILTIN_RECEIVER,
    DEFAULT_REPEAT,
    Receiver,
    Route,
    Spec,
    TimePeriod,
    grouping_labels,
    spec_problem,
)

__all__ = ["NULL_RECEIVER", "alertmanager_config", "emit", "expected_receivers", "holds_secrets"]

#: Receives what no route takes; it has no integrations, so nothing is sent.
NULL_RECEIVER = "blackhole"


#: Headers every mail carries (a reader never sees them): what the local receiver's SMTP sink stores
#: as the notification's receiver, status, name, severity and priority (tocsin.stack._sinks).
_MAIL_HEADERS = {
    "X-Tocsin-Receiver": "{{ .Receiver }}",
    "X-Tocsin-Status": "{{ .Status }}",
    "X-Tocsin-Alertname": "{{ .CommonLabels.alertname }}",
    "X-Tocsin-Severity": "{{ .CommonLabels.severity }}",
    "X-Tocsin-Priority": "{{ .CommonLabels.priority }}",
    "X-Tocsin-Alerts": "{{ len .Alerts }}",
}


def _receiver(
    spec: Spec, name: str, receiver: Receiver, env: Mapping[str, str], secrets_dir: Path
) -> dict[str, Any]:
    resolved = {"send_resolved": receiver.send_resolved}

    def from_env(kind: str, field: str) -> str:  # the file tocsin up writes the variable's value to
        return str(secrets_dir / secret_key("receivers", name, kind, field))

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
        elif email.auth_password_env:
            config["auth_password_file"] = from_env("email", "auth_password_env")
        config["require_tls"] = email.require_tls
        config["headers"] = dict(_MAIL_HEADERS)
        return {"name": name, "email_configs": [{**resolved, **config}]}
    if receiver.slack is not None:
        url_file = receiver.slack.api_url_file or from_env("slack", "api_url_env")
        slack: dict[str, Any] = {**resolved, "api_url_file": url_file}
        for key in ("channel", "username", "icon_emoji", "icon_url"):
            if (value := getattr(receiver.slack, key)) is not None:
                slack[key] = value
        slack["title"] = (
            "[{{ .Status | toUpper }}:{{ len .Alerts }}] {{ .CommonLabels.alertname }}"
            " ({{ .CommonLabels.severity }})"
        )
        slack["text"] = "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}"
        slack["fields"] = [
            {"title": label, "value": f"{{{{ .CommonLabels.{label} }}}}", "short": True}
            for label in ("severity", "priority")
        ]
        slack["callback_id"] = "{{ .Receiver }}"  # not shown by Slack; names the receiver for the local sink
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


def _intervals(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.active_time_intervals:
        out["active_time_intervals"] = list(route.active_time_intervals)
    if route.mute_time_intervals:
        out["mute_time_intervals"] = list(route.mute_time_intervals)
    return out


def _fan_out(receivers: list[str], intervals: dict[str, Any] | None = None) -> dict[str, Any]:
    """One receiver directly; several through children that each notify and continue. Alertmanager
    does not pass time intervals down to child routes, so each child carries ``intervals`` too."""
    out: dict[str, Any] = {"receiver": receivers[0]}
    if len(receivers) > 1:
        out["routes"] = [
            {"receiver": name, **(intervals or {}), **({"continue": True} if i < len(receivers) - 1 else {})}
            for i, name in enumerate(receivers)
        ]
    return out


def _entry(route: Route, repeat: str | None, matchers: list[str] | None = None) -> dict[str, Any]:
    """A child route: its matchers, receivers, timings and time intervals."""
    intervals = _intervals(route)
    head = {"matchers": matchers} if matchers else {}
    return {**head, **_fan_out(route.receivers, intervals), **_timings(route, repeat), **intervals}


def _period(period: TimePeriod) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if period.times:
        out["times"] = [{"start_time": t.start_time, "end_time": t.end_time} for t in period.times]
    for key in ("weekdays", "days_of_month", "months", "years"):
        if getattr(period, key):
            out[key] = list(getattr(period, key))
    if period.location:
        out["location"] = period.location
    return out


def _timed_default(spec: Spec) -> bool:
    """A default route with time intervals becomes a last, catch-all child: the root may have none."""
    default = spec.routes.default
    return default is not None and bool(default.active_time_intervals or default.mute_time_intervals)


def _root_receiver(spec: Spec) -> list[str]:
    if spec.routes.default is not None:
        return [NULL_RECEIVER] if _timed_default(spec) else list(spec.routes.default.receivers)
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


def alertmanager_config(
    spec: Spec, env: Mapping[str, str], secrets_dir: Path | None = None
) -> dict[str, Any]:
    """The alertmanager.yml document; ``*_env`` secrets are files in ``secrets_dir`` (compile.secrets)."""
    secrets_dir = default_secrets_dir(spec) if secrets_dir is None else secrets_dir
    routes = spec.routes
    children: list[dict[str, Any]] = []
    for label, key, route in routes.selectors():
        if label:
            repeat = DEFAULT_REPEAT.get(key) if label == "priority" else None
            children.append(_entry(route, repeat, [f'{label}="{key}"']))
    if routes.default is not None and _timed_default(spec):
        children.append(_entry(routes.default, None))
    root_receivers = _root_receiver(spec)
    root: dict[str, Any] = {
        **_fan_out(root_receivers),
        "group_by": list(routes.group_by),
        "group_wait": routes.group_wait,
        "group_interval": routes.group_interval,
        "repeat_interval": routes.repeat_interval,
    }
    if routes.default is not None and not _timed_default(spec):
        root.update(_timings(routes.default, None))
    if "routes" in root:  # the default's fan-out children go after the selector routes
        children.extend(root.pop("routes"))
    if children:
        root["routes"] = children
    used = {name for _, _, route in routes.selectors() for name in route.receivers} | set(root_receivers)
    intervals = [
        {"name": name, "time_intervals": [_period(p) for p in periods]}
        for name, periods in spec.time_intervals.items()
    ]
    receivers = [_receiver(spec, name, r, env, secrets_dir) for name, r in spec.receivers.items()]
    if BUILTIN_RECEIVER in used:
        url = f"http://{spec.stack.host}:{spec.stack.receiver.port}/webhook"
        receivers.append({"name": BUILTIN_RECEIVER, "webhook_configs": [{"send_resolved": True, "url": url}]})
    if NULL_RECEIVER in used:
        receivers.append({"name": NULL_RECEIVER})
    config: dict[str, Any] = {
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
    if intervals:
        config["time_intervals"] = intervals
    return config


def expected_receivers(spec: Spec, labels: Mapping[str, str]) -> list[str]:
    """Receivers the route tree must pick for an alert with ``labels`` (checked with amtool, which
    walks the tree whatever the time: a route's time intervals do not change the answer)."""
    for label, key, route in spec.routes.selectors():
        if label and labels.get(label) == key:
            return list(route.receivers)
    if spec.routes.default is not None:
        return list(spec.routes.default.receivers)
    return _root_receiver(spec)


def emit(
    spec: Spec, *, env: Mapping[str, str] | None = None, secrets_dir: Path | None = None
) -> dict[str, str]:
    """``alertmanager/alertmanager.yml``."""
    source = Path(spec.source).name if spec.source else "a spec"
    header = f"Generated by tocsin from {source}: edit the spec, not this file."
    config = alertmanager_config(spec, os.environ if env is None else env, secrets_dir)
    return {"alertmanager/alertmanager.yml": dump_yaml(config, header=header)}


def holds_secrets(spec: Spec) -> bool:
    """Whether ``alertmanager.yml`` carries a secret inline (a webhook ``url_env``): then it is 0600."""
    return any(r.webhook is not None and r.webhook.url_env is not None for r in spec.receivers.values())
