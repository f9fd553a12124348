"""Checks that need the whole spec: references, duplicates, reachability, templates, secrets.

Each check yields ``(loc, message, hint)``; the loader turns ``loc`` into
``file:line:column``. All problems are reported together (Sloth's habit).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from tocsin import ports
from tocsin.spec._model import Alert, Slo, Spec
from tocsin.spec._templates import SUPPORTED_TEMPLATES, template_parts
from tocsin.spec._templates import TEMPLATE_RE as _TEMPLATE_RE

__all__ = [
    "BUILTIN_RECEIVER",
    "RESERVED_ALERTS",
    "check_names",
    "check_reachability",
    "check_references",
    "check_templates",
    "moved_receiver_warnings",
    "secret_envs",
    "secret_paths",
    "secret_warnings",
]

Loc = tuple[str | int, ...]
Found = tuple[Loc, str, str]

#: Always available when the stack's receiver is enabled: the built-in webhook receiver.
BUILTIN_RECEIVER = "tocsin"
#: Alert names the compiler generates itself.
RESERVED_ALERTS = frozenset({"TargetDown", "ErrorBudgetBurn"})
_RESERVED_LABELS = frozenset({"alertname", "severity", "priority", "slo"})


def _duplicates(names: list[str], where: str) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield index, f"duplicate {where} {name!r}"
        seen.add(name)


def check_references(spec: Spec) -> Iterator[Found]:
    receivers = set(spec.receivers)
    if spec.stack.receiver.enabled:
        receivers.add(BUILTIN_RECEIVER)
    used: set[str] = set()
    for _label, key, route in spec.routes.selectors():
        for j, name in enumerate(route.receivers):
            used.add(name)
            if name not in receivers:
                known = ", ".join(sorted(receivers)) or "none defined"
                yield ("routes", key, "receivers", j), f"unknown receiver {name!r}", f"receivers: {known}"
    for name in spec.receivers:
        if name not in used:
            yield ("receivers", name), f"receiver {name!r} is never used", "add it to a route or delete it"
    yield from _stack_receiver_paths(spec)
    for i, alert in enumerate(spec.alerts):
        if alert.service is not None and alert.service not in spec.services:
            yield ("alerts", i, "service"), f"unknown service {alert.service!r}", "add it under services:"
    for i, slo in enumerate(spec.slos):
        if slo.service is not None and slo.service not in spec.services:
            yield ("slos", i, "service"), f"unknown service {slo.service!r}", "add it under services:"
    for d, dashboard in enumerate(spec.dashboards):
        for p, panel in enumerate(dashboard.panels):
            if panel.alert is not None and spec.alert(panel.alert) is None:
                yield (
                    ("dashboards", d, "panels", p, "alert"),
                    f"unknown alert {panel.alert!r}",
                    "name an alert",
                )


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _stack_receiver_paths(spec: Spec) -> Iterator[Found]:
    """A webhook aimed at the stack's own receiver on a path it does not serve is refused here.

    The receiver answers ``/webhook`` and ``/slack/...`` only; anything else gets a 404, which
    Alertmanager logs and drops: the pipeline would look configured and deliver nothing.
    """
    if not spec.stack.receiver.enabled:
        return
    port = spec.stack.receiver.port
    for name, receiver in spec.receivers.items():
        if receiver.webhook is None or receiver.webhook.url is None:
            continue
        url = urlsplit(receiver.webhook.url)
        try:
            aimed = url.hostname in _LOOPBACK and url.port == port
        except ValueError:  # a port that is not a number: the URL's own problem, not this check's
            continue
        if aimed and url.path != "/webhook" and not url.path.startswith("/slack/"):
            yield (
                ("receivers", name, "webhook", "url"),
                f"the stack's receiver on port {port} has no path {url.path or '/'!r}: "
                "Alertmanager would get 404 and drop every notification",
                f"use http://127.0.0.1:{port}/webhook: it records which receiver sent each notification",
            )


def moved_receiver_warnings(spec: Spec) -> Iterator[Found]:
    """A webhook still aimed at the receiver's default port after ``stack.receiver.port`` moved.

    ``tocsin init``'s starter spec sends P1 to ``http://127.0.0.1:9095/webhook``; a user who moves
    the stack's ports (9095 taken by another stack on the machine) and forgets that URL has their
    notifications delivered to whatever listens on 9095, or to nothing, with every check passing.
    """
    port = spec.stack.receiver.port
    if not spec.stack.receiver.enabled or port == ports.RECEIVER:
        return
    for name, receiver in spec.receivers.items():
        if receiver.webhook is None or receiver.webhook.url is None:
            continue
        url = urlsplit(receiver.webhook.url)
        try:
            aimed = url.hostname in _LOOPBACK and url.port == ports.RECEIVER
        except ValueError:
            continue
        if aimed and (url.path == "/webhook" or url.path.startswith("/slack/")):
            yield (
                ("receivers", name, "webhook", "url"),
                f"{receiver.webhook.url} aims at the receiver's default port {ports.RECEIVER}, but this "
                f"stack's receiver listens on {port}: notifications would go to whatever answers there",
                f"use http://127.0.0.1:{port}{url.path}",
            )


def check_names(spec: Spec) -> Iterator[Found]:
    for i, message in _duplicates([a.name for a in spec.alerts], "alert"):
        yield ("alerts", i, "name"), message, "alert names must be unique; warning/critical share one alert"
    for i, message in _duplicates([s.name for s in spec.slos], "SLO"):
        yield ("slos", i, "name"), message, "rename one"
    for i, message in _duplicates([d.slug for d in spec.dashboards], "dashboard"):
        yield ("dashboards", i, "title"), message, "give each dashboard its own title or uid"
    for i, alert in enumerate(spec.alerts):
        if alert.name in RESERVED_ALERTS:
            yield (
                ("alerts", i, "name"),
                f"alert name {alert.name!r} is generated by tocsin",
                "choose another name",
            )
        for label in alert.labels:
            if label in _RESERVED_LABELS:
                hint = f"use the {label}: field" if label in ("severity", "priority") else "tocsin sets it"
                yield ("alerts", i, "labels", label), f"label {label!r} is reserved", hint


def _templated_fields(spec: Spec) -> Iterator[tuple[Loc, str]]:
    """Every text Prometheus expands as a Go template: annotations and labels of alerts and SLOs."""
    entries: list[tuple[str, Sequence[Alert | Slo]]] = [("alerts", spec.alerts), ("slos", spec.slos)]
    for kind, items in entries:
        for i, entry in enumerate(items):
            for field in ("summary", "description", "runbook"):
                text = getattr(entry, field, None)
                if text:
                    yield (kind, i, field), text
            for name, value in entry.labels.items():
                yield (kind, i, "labels", name), value


def check_templates(spec: Spec) -> Iterator[Found]:
    """Templates the generated unit tests can expand, closed, and naming external labels that exist."""
    external = {"app", *spec.labels}
    for loc, text in _templated_fields(spec):
        parts = template_parts(text)
        if "{{" in _TEMPLATE_RE.sub("", text):
            yield (
                loc,
                "'{{' without its '}}', which Prometheus refuses",
                "close the template, e.g. {{ $value }}",
            )
        for body, parsed in parts:
            if isinstance(parsed, ValueError):
                yield loc, str(parsed), f"generated unit tests expand these only: {SUPPORTED_TEMPLATES}"
            elif parsed.source == "externalLabels" and parsed.name not in external:
                yield (
                    loc,
                    f"unknown external label in {{{{{body}}}}}",
                    f"external labels: {', '.join(sorted(external))} (set them under labels:)",
                )


def check_reachability(spec: Spec) -> Iterator[Found]:
    """Every priority/severity an alert can carry must reach a route (or the default)."""
    selectors = spec.routes.selectors()
    if not selectors or spec.routes.default is not None:
        return
    keys = {key for _label, key, _route in selectors}
    for i, alert in enumerate(spec.alerts):
        for severity in alert.levels() or [alert.severity]:
            if alert.priority not in keys and severity not in keys:
                yield (
                    ("alerts", i, "name"),
                    f"alert {alert.name!r} ({alert.priority}, {severity}) reaches no route",
                    f"add routes.{alert.priority}, routes.{severity} or routes.default",
                )


def secret_paths(spec: Spec) -> Iterator[tuple[Loc, str]]:
    """Every ``*_file`` secret in the spec with its location."""
    for name, receiver in spec.receivers.items():
        if receiver.email is not None and receiver.email.auth_password_file:
            yield ("receivers", name, "email", "auth_password_file"), receiver.email.auth_password_file
        if receiver.slack is not None and receiver.slack.api_url_file:
            yield ("receivers", name, "slack", "api_url_file"), receiver.slack.api_url_file
    for name, service in spec.services.items():
        if service.basic_auth is not None:
            yield ("services", name, "basic_auth", "password_file"), service.basic_auth.password_file
        if service.bearer_token_file:
            yield ("services", name, "bearer_token_file"), service.bearer_token_file
    for i, remote in enumerate(spec.remote_write):
        if remote.basic_auth is not None:
            yield ("remote_write", i, "basic_auth", "password_file"), remote.basic_auth.password_file
        if remote.bearer_token_file:
            yield ("remote_write", i, "bearer_token_file"), remote.bearer_token_file


def secret_envs(spec: Spec) -> Iterator[tuple[Loc, str]]:
    """Every ``*_env`` secret Alertmanager reads from a file ``tocsin up`` writes, with its location."""
    for name, receiver in spec.receivers.items():
        if receiver.email is not None and receiver.email.auth_password_env:
            yield ("receivers", name, "email", "auth_password_env"), receiver.email.auth_password_env
        if receiver.slack is not None and receiver.slack.api_url_env:
            yield ("receivers", name, "slack", "api_url_env"), receiver.slack.api_url_env


def _ends_with_newline(file: Path) -> bool:
    """Whether the regular file ends in ``\\n``, reading its last byte only (a secret may be any size)."""
    with file.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def secret_warnings(spec: Spec) -> Iterator[Found]:
    """Secret pre-flight: files that do not exist yet, and trailing newlines Alertmanager 0.25 keeps."""
    for loc, path in secret_paths(spec):
        file = Path(path)
        try:
            exists, regular = file.exists(), file.is_file()  # is_file() never opens: no FIFO blocks here
        except OSError:
            exists = regular = False
        if not exists:
            yield loc, f"secret file {path} does not exist", "create it before starting the stack"
        elif not regular:
            yield loc, f"secret file {path} is not a regular file", "point at a file holding the secret"
        elif loc[0] == "receivers" and _ends_with_newline(file):
            yield (
                loc,
                f"secret file {path} ends with a newline",
                "Alertmanager 0.25 sends it as part of the secret",
            )
