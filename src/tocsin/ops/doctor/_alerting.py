"""Checks of the alerting pipeline: can Alertmanager reach each receiver, and did its notifications fail.

The most common failure of a monitoring setup is one nobody sees: alerts fire and no notification
leaves. Three sources say so, from the most to the least direct: a TCP connection to every receiver's
endpoint (webhook URL, SMTP smarthost, the Slack URL Alertmanager reads from its file), Alertmanager's
own ``alertmanager_notifications_failed_total`` by integration, and its log, whose ``Notify for alerts
failed`` lines name the receiver and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tocsin.ops._endpoints import endpoints, reach
from tocsin.ops.doctor._base import Context, Finding, error, ok, once, warning

__all__ = ["cluster", "notifications", "receivers"]

_NOTIFY_FAILED = re.compile(
    r'msg="Notify for alerts failed".*?err="(?P<receiver>[^/"]+)/(?P<kind>\w+)\[\d+\]: (?P<why>[^"]*)"'
)
_DIAL = re.compile(r"dial tcp (?P<address>[^:]+:\d+): (?:connect: )?(?P<reason>.*)")


@once
def _running_config(ctx: Context) -> dict[str, Any]:
    """The ``alertmanager.yml`` that runs (config/current), else the one the spec compiles to."""
    from ruamel.yaml import YAML

    path = ctx.layout.current / "alertmanager" / "alertmanager.yml"
    try:
        return YAML(typ="safe").load(path.read_text()) or {}
    except OSError:
        pass
    if ctx.spec is None:
        return {}
    from tocsin.ops.routes import spec_alertmanager_config

    return spec_alertmanager_config(ctx.spec)


def receivers(ctx: Context) -> Iterator[Finding]:
    config = _running_config(ctx)
    checked = failing = 0
    # a stopped stack's own sinks (the receiver's webhook and SMTP ports) are down with it: not a finding
    own = set() if ctx.running else {(c.host, p) for c in ctx.components for p in c.ports}
    for receiver in config.get("receivers") or []:
        name = receiver["name"]
        for kind, shown, host, port, hint in endpoints(receiver):
            if (host, port) in own or (host == "localhost" and ("127.0.0.1", port) in own):
                continue
            checked += 1
            if not host:
                failing += 1
                yield error(
                    "receivers",
                    f"{name} ({kind})",
                    f"Alertmanager cannot read its address {shown}: {hint}",
                    "make the file readable by Alertmanager, holding the webhook URL",
                )
                continue
            why = reach(host, port, min(ctx.timeout, 3.0))
            if why:
                failing += 1
                yield error(
                    "receivers",
                    f"{name} ({kind})",
                    f"{shown} {why}: notifications to {name} cannot be delivered",
                    f"start that service, or fix {hint} in the spec",
                )
    if checked and not failing:
        yield ok("receivers", "alertmanager", f"all {checked} receiver endpoints accept connections")


def _reason(why: str) -> str:
    dial = _DIAL.search(why)
    if dial:
        return f"could not connect to {dial['address']}: {dial['reason']}"
    return why.split(": ", 1)[-1] if "notify retry canceled" in why else why


def notifications(ctx: Context) -> Iterator[Finding]:
    for c in ctx.up("alertmanager"):
        own = ctx.metrics(c.url)
        failed = {
            s[0].get("integration", "?"): s[1] for s in own.get("alertmanager_notifications_failed_total", [])
        }
        total = {s[0].get("integration", "?"): s[1] for s in own.get("alertmanager_notifications_total", [])}
        latest: dict[tuple[str, str], str] = {}
        for line in ctx.log_tail(c.name):
            match = _NOTIFY_FAILED.search(line)
            if match:
                latest[(match["receiver"], match["kind"])] = _reason(match["why"])
        for (receiver, kind), why in latest.items():
            yield error(
                "notifications",
                f"{receiver} ({kind})",
                f"{c.name} failed to notify {receiver} by {kind}: {why} "
                f"({failed.get(kind, 0):.0f} of {total.get(kind, 0):.0f} {kind} notifications failed)",
                f"fix receivers.{receiver} in the spec, or start the server it sends to "
                "(`tocsin test-notify` checks it)",
            )
        for kind, count in failed.items():
            if count and not any(k == kind for _, k in latest):
                yield error(
                    "notifications",
                    f"{c.name} ({kind})",
                    f"{count:.0f} of {total.get(kind, 0):.0f} {kind} notifications failed since it started",
                    f"read {ctx.layout.log(c.name)} for the receiver and the reason",
                )
        if total and not any(failed.values()):
            yield ok("notifications", c.name, f"{sum(total.values()):.0f} notifications sent, none failed")


def cluster(ctx: Context) -> Iterator[Finding]:
    managers = [c for c in ctx.components if c.kind == "alertmanager"]
    if len(managers) < 2:
        return
    for c in ctx.up("alertmanager"):
        members = ctx.metrics(c.url).get("alertmanager_cluster_members")
        if members and members[0][1] < len(managers):
            yield warning(
                "alertmanager",
                c.name,
                f"sees {members[0][1]:.0f} of {len(managers)} cluster members: "
                "silences and notifications are not shared",
                "check both cluster ports (stack.alertmanager.cluster_port and stack.ha.alertmanager's)",
            )
