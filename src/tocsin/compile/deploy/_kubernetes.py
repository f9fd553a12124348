"""Kubernetes manifests for prometheus-operator: PrometheusRule, ServiceMonitor, AlertmanagerConfig.

* ``PrometheusRule`` carries exactly the rule groups of ``prometheus/rules/``
  (threshold, TargetDown and SLO rules, then included files).
* One ``ServiceMonitor`` per service selects the Services labelled
  ``app.kubernetes.io/name: <service>``; ``jobLabel`` makes ``job`` the service
  name, as the generated ``TargetDown`` rules expect, and relabelling adds the
  ``service`` label and the service's labels, as ``prometheus.yml`` does.
* ``AlertmanagerConfig`` is the route tree, receivers and inhibitions of
  ``alertmanager.yml`` in the operator's camelCase; every secret is a
  ``secretKeyRef`` into one Secret (``<app>-secrets``), never a value.
  ``create-secret.sh`` builds that Secret from the same files.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from ruamel.yaml import YAML

from tocsin.compile import grafana
from tocsin.compile._yaml import dump_yaml
from tocsin.compile.alertmanager import alertmanager_config
from tocsin.compile.deploy._secrets import secret_files, secret_key, secret_name
from tocsin.compile.rules import alert_groups
from tocsin.compile.slo import slo_groups
from tocsin.spec import Dashboard, Service, Spec

__all__ = [
    "alertmanager_config_manifest",
    "create_secret_script",
    "dashboard_config_map",
    "prometheus_rule",
    "service_monitor",
    "time_zone_note",
]

_MATCHER_RE = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"(.*)"$')
_CAMEL = {"api_url": "apiURL", "require_tls": "requireTLS"}
_SECRET_FIELDS = {"auth_password_file": "authPassword", "api_url_file": "apiURL"}


def _metadata(spec: Spec, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "labels": {"app.kubernetes.io/part-of": spec.app, "app.kubernetes.io/managed-by": "tocsin"},
    }


def _k8s_name(text: str) -> str:
    """An RFC 1123 name (lower case, digits, '-')."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def rule_groups(spec: Spec) -> list[dict[str, Any]]:
    """The groups of every rule file the bundle holds, in ``rule_files`` order."""
    groups = [*alert_groups(spec), *slo_groups(spec)]
    yaml = YAML(typ="safe")
    for text in spec.included_rules.values():
        groups.extend((yaml.load(text) or {}).get("groups", []))
    return groups


def prometheus_rule(spec: Spec) -> dict[str, Any]:
    """``PrometheusRule`` (monitoring.coreos.com/v1) with every generated and included group."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _metadata(spec, _k8s_name(f"{spec.app}-rules")),
        "spec": {"groups": rule_groups(spec)},
    }


def _secret_ref(spec: Spec, key: str) -> dict[str, str]:
    return {"name": secret_name(spec), "key": key}


def _scrape_auth(spec: Spec, name: str, service: Service) -> dict[str, Any]:
    """The service's credentials as Secret references; a key is its spec path (``secret_key``), the
    same one ``create-secret.sh`` writes (listing every secret here per service was quadratic)."""
    out: dict[str, Any] = {}
    if service.basic_auth is not None:
        out["basicAuth"] = {
            "username": _secret_ref(spec, secret_key("services", name, "basic_auth", "username")),
            "password": _secret_ref(spec, secret_key("services", name, "basic_auth", "password_file")),
        }
    if service.bearer_token_file:
        out["authorization"] = {
            "type": "Bearer",
            "credentials": _secret_ref(spec, secret_key("services", name, "bearer_token_file")),
        }
    return out


def _port(service: Service) -> dict[str, Any]:
    """The container port every static target shares, else the Service port named ``metrics``."""
    ports = {target.rpartition(":")[2] for target in service.targets}
    return {"targetPort": int(ports.pop())} if len(ports) == 1 else {"port": "metrics"}


def service_monitor(spec: Spec, name: str, service: Service) -> dict[str, Any]:
    """``ServiceMonitor`` (monitoring.coreos.com/v1) for one service."""
    endpoint: dict[str, Any] = {
        **_port(service),
        "path": service.metrics_path,
        "scheme": service.scheme,
        "interval": service.interval or spec.scrape.interval,
        "scrapeTimeout": service.timeout or spec.scrape.timeout,
    }
    if service.honor_labels:
        endpoint["honorLabels"] = True
    endpoint.update(_scrape_auth(spec, name, service))
    labels = {"service": name, **service.labels}
    endpoint["relabelings"] = [
        {"action": "replace", "targetLabel": label, "replacement": value} for label, value in labels.items()
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _metadata(spec, _k8s_name(f"{spec.app}-{name}")),
        "spec": {
            "jobLabel": "app.kubernetes.io/name",
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "endpoints": [endpoint],
        },
    }


def dashboard_config_map(spec: Spec, dashboard: Dashboard, *, header: str = "") -> str:
    """A ConfigMap holding one dashboard, labelled ``grafana_dashboard: "1"`` for the Grafana sidecar
    (kube-prometheus-stack's convention); one per dashboard keeps each under the 1 MiB limit.

    The JSON goes in a literal block (``|``) so the manifest reads, and diffs, like the dashboard file.
    """
    uid = grafana.dashboard_uid(dashboard)
    metadata = _metadata(spec, _k8s_name(f"{spec.app}-dashboard-{uid}"))
    metadata["labels"]["grafana_dashboard"] = "1"
    head = dump_yaml({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}, header=header)
    body = "".join(f"    {line}\n" for line in grafana.dashboard_json(spec, dashboard).splitlines())
    return f"{head}data:\n  {uid}.json: |\n{body}"


# --- AlertmanagerConfig ---------------------------------------------------------------------------


def _camel(key: str) -> str:
    if key in _CAMEL:
        return _CAMEL[key]
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _matchers(matchers: list[str]) -> list[dict[str, str]]:
    out = []
    for text in matchers:
        match = _MATCHER_RE.match(text)
        if match is None:
            raise ValueError(f'matcher {text!r} is not name<op>"value"')
        out.append({"name": match[1], "value": match[3], "matchType": match[2]})
    return out


def _route(route: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in route.items():
        if key == "matchers":
            out["matchers"] = _matchers(value)
        elif key == "routes":
            out["routes"] = [_route(child) for child in value]
        else:
            out[_camel(key)] = value
    return out


def _integration(spec: Spec, receiver: str, config: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in _SECRET_FIELDS:
            out[_SECRET_FIELDS[key]] = _secret_ref(spec, keys[key])
        elif key == "headers":  # the CRD takes a list of key/value pairs
            out["headers"] = [{"key": k, "value": v} for k, v in value.items()]
        elif key == "url" and receiver in spec.receivers and spec.receivers[receiver].webhook is not None:
            hook = spec.receivers[receiver].webhook
            assert hook is not None
            if hook.url_env is not None:
                out["urlSecret"] = _secret_ref(spec, secret_key("receivers", receiver, "webhook", "url"))
            else:
                out["url"] = value
        else:
            out[_camel(key)] = value
    return out


def _receiver(spec: Spec, receiver: dict[str, Any]) -> dict[str, Any]:
    name = receiver["name"]
    keys = {str(s.field[-1]): s.key for s in secret_files(spec) if s.field[:2] == ("receivers", name)}
    out: dict[str, Any] = {"name": name}
    for kind, configs in receiver.items():
        if kind != "name":
            out[_camel(kind)] = [_integration(spec, name, config, keys) for config in configs]
    return out


def _url_envs(spec: Spec) -> dict[str, str]:
    """Stand-ins for ``url_env`` variables: the manifest references a Secret key instead of the URL."""
    return {
        r.webhook.url_env: "http://unused.invalid/"
        for r in spec.receivers.values()
        if r.webhook is not None and r.webhook.url_env is not None
    }


def alertmanager_config_manifest(spec: Spec) -> dict[str, Any]:
    """``AlertmanagerConfig`` (monitoring.coreos.com/v1alpha1) translated from ``alertmanager.yml``."""
    config = alertmanager_config(spec, _url_envs(spec))
    inhibit = [
        {
            "sourceMatch": _matchers(rule["source_matchers"]),
            "targetMatch": _matchers(rule["target_matchers"]),
            "equal": rule["equal"],
        }
        for rule in config["inhibit_rules"]
    ]
    body: dict[str, Any] = {
        "route": _route(config["route"]),
        "receivers": [_receiver(spec, receiver) for receiver in config["receivers"]],
        "inhibitRules": inhibit,
    }
    if config.get("time_intervals"):
        body["muteTimeIntervals"] = [_time_interval(interval) for interval in config["time_intervals"]]
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": _metadata(spec, _k8s_name(spec.app)),
        "spec": body,
    }


def _day_range(text: str) -> dict[str, int]:
    start, _, end = text.partition(":")
    return {"start": int(start), "end": int(end or start)}


def _time_interval(interval: dict[str, Any]) -> dict[str, Any]:
    """One of ``alertmanager.yml``'s ``time_intervals`` as v1alpha1's ``MuteTimeInterval`` (the CRD's name
    for both kinds: routes refer to it from ``activeTimeIntervals`` as well as ``muteTimeIntervals``).
    The CRD has no ``location``: see :func:`time_zone_note`."""
    periods = []
    for period in interval["time_intervals"]:
        out: dict[str, Any] = {}
        if "times" in period:
            out["times"] = [{"startTime": t["start_time"], "endTime": t["end_time"]} for t in period["times"]]
        for key in ("weekdays", "months", "years"):
            if key in period:
                out[key] = period[key]
        if "days_of_month" in period:
            out["daysOfMonth"] = [_day_range(days) for days in period["days_of_month"]]
        periods.append(out)
    return {"name": interval["name"], "timeIntervals": periods}


def time_zone_note(spec: Spec) -> str:
    """A header line for the AlertmanagerConfig when a time interval has a ``location``: the CRD
    (monitoring.coreos.com/v1alpha1, prometheus-operator up to 0.8x) cannot say it, so its times are UTC."""
    zones = sorted({p.location for periods in spec.time_intervals.values() for p in periods if p.location})
    if not zones:
        return ""
    return (
        f"Time intervals are in {', '.join(zones)} in alertmanager.yml; AlertmanagerConfig has no location"
        " field, so here their times are read as UTC: shift them, or use alertmanager.yml."
    )


def _secret_sources(spec: Spec) -> list[str]:
    """``kubectl create secret`` arguments: files as they are, usernames and env URLs as literals."""
    files = [s for s in secret_files(spec) if s.field[0] in ("services", "receivers")]
    args = [
        f'--from-literal={s.key}="${{{s.env}:?}}"' if s.env else f"--from-file={s.key}={shlex.quote(s.path)}"
        for s in files
    ]
    for name, service in spec.services.items():
        if service.basic_auth is not None:
            key = secret_key("services", name, "basic_auth", "username")
            args.append(f"--from-literal={key}={shlex.quote(service.basic_auth.username)}")
    for name, receiver in spec.receivers.items():
        if receiver.webhook is not None and receiver.webhook.url_env is not None:
            key = secret_key("receivers", name, "webhook", "url")
            args.append(f'--from-literal={key}="${{{receiver.webhook.url_env}:?}}"')
    return args


def create_secret_script(spec: Spec) -> str | None:
    """A shell script creating (or updating) the app's Secret from the spec's secret files; None if
    nothing is secret. It reads the files when run: no secret value is ever written into the bundle."""
    args = _secret_sources(spec)
    if not args:
        return None
    lines = [
        "#!/bin/sh",
        "# Generated by tocsin: creates the Secret the manifests reference (kubectl -n NAMESPACE works too).",
        "set -eu",
        f"kubectl create secret generic {secret_name(spec)} \\",
        *(f"  {arg} \\" for arg in args),
        '  --dry-run=client -o yaml "$@" | kubectl apply "$@" -f -',
    ]
    return "\n".join(lines) + "\n"
