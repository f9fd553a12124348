"""Did a notification reach each receiver of its route? Read where it can be seen.

- a sink of the stack's own receiver (its webhook, its SMTP sink, its Slack-compatible endpoint): the
  notification is read back from the receiver's history (``/api/v1/notifications``), by alert name,
  receiver name, sink and status;
- anything else (a real SMTP server, Slack, a webhook elsewhere): Alertmanager's own counters,
  ``alertmanager_notification_requests_total`` / ``..._failed_total`` per integration, against their
  values before; a failure is named from Alertmanager's ``Notify for alerts failed`` log line, or, while
  it still retries, from a TCP probe of the endpoint.

Shared by ``tocsin test-notify`` (a synthetic alert) and ``tocsin drill`` (a real one).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tocsin.ops._endpoints import endpoints, reach
from tocsin.ops._http import CallFailed, call, call_json
from tocsin.ops.routes import Delivery, RouteTree, receiver_kinds
from tocsin.stack.components import Component

__all__ = ["Confirmation", "DeliveryWatch"]

_FAILED_LINE = re.compile(
    r'msg="Notify for alerts failed".*?err="(?P<receiver>[^/"]+)/(?P<kind>\w+)\[\d+\]: (?P<why>[^"]*)"'
)


@dataclass
class Confirmation:
    receiver: str
    kind: str
    #: "receiver history" (a local sink) or "Alertmanager metrics" (anything else)
    via: str
    status: str = "waiting"  # delivered, failed, held, timeout
    detail: str = ""
    seconds: float | None = None
    #: (host, port, shown address) it sends to
    endpoint: tuple[str, int, str] | None = None


def _local_sink(kind: str, config: Mapping[str, Any], receiver: Component | None) -> bool:
    if receiver is None:
        return False
    here = {f"{receiver.host}:{receiver.port}", f"localhost:{receiver.port}"}
    if kind == "email":
        smtp = {f"{receiver.host}:{p}" for p in receiver.extra_ports} | {
            f"localhost:{p}" for p in receiver.extra_ports
        }
        return str(config.get("smarthost", "")) in smtp
    url = str(config.get("url") or config.get("api_url") or "")
    if kind == "slack" and config.get("api_url_file"):
        try:
            url = Path(config["api_url_file"]).read_text().strip()
        except OSError:
            return False
    parts = urlsplit(url)
    path = "/webhook" if kind == "webhook" else "/slack/"
    return parts.netloc in here and parts.path.startswith(path)


_COUNTERS = {
    "alertmanager_notifications_total": "sent",
    "alertmanager_notifications_failed_total": "failed",
    "alertmanager_notification_requests_total": "requests",
    "alertmanager_notification_requests_failed_total": "attempts_failed",
}


def _counters(managers: Sequence[Component]) -> dict[str, dict[str, float]]:
    """integration → {sent, failed, requests, attempts_failed} summed over the Alertmanagers (``sent``
    counts a notification when it starts, ``requests`` every attempt of it)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[str, float]] = {}
    for am in managers:
        try:
            text = call("GET", f"{am.url}/metrics", timeout=5).text
        except CallFailed:
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in _COUNTERS:
                    kind = sample.labels.get("integration", "")
                    values = out.setdefault(kind, dict.fromkeys(_COUNTERS.values(), 0.0))
                    values[_COUNTERS[sample.name]] += sample.value
    return out


def _delta(
    now: Mapping[str, Mapping[str, float]], before: Mapping[str, Mapping[str, float]], kind: str, key: str
) -> float:
    return now.get(kind, {}).get(key, 0.0) - before.get(kind, {}).get(key, 0.0)


def _log_failures(logs: Sequence[Path], offsets: Mapping[Path, int]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for path in logs:
        try:
            with path.open("rb") as handle:
                handle.seek(offsets.get(path, 0))
                text = handle.read().decode(errors="replace")
        except OSError:
            continue
        for match in _FAILED_LINE.finditer(text):
            found[(match["receiver"], match["kind"])] = match["why"]
    return found


#: failed delivery attempts after which a receiver counts as failing (Alertmanager retries until the
#: group interval is over, at least 10 s, before it gives up and logs which receiver failed)
FAILED_ATTEMPTS = 3


def _judge_remote(
    remote: Sequence[Confirmation],
    now: Mapping[str, Mapping[str, float]],
    before: Mapping[str, Mapping[str, float]],
    failures: Mapping[tuple[str, str], str],
    elapsed: float,
) -> None:
    for kind in {c.kind for c in remote}:
        mine = [c for c in remote if c.kind == kind]
        sent, failed = _delta(now, before, kind, "sent"), _delta(now, before, kind, "failed")
        attempts = _delta(now, before, kind, "attempts_failed")
        for c in mine:
            why = failures.get((c.receiver, kind))
            if why is not None:
                c.status, c.seconds, c.detail = "failed", elapsed, f"Alertmanager gave up: {why}"
        waiting = [c for c in mine if c.status == "waiting"]
        if not waiting:
            continue
        delivered = _delta(now, before, kind, "requests") - attempts
        if attempts >= FAILED_ATTEMPTS:
            names = ", ".join(c.receiver for c in waiting)
            for c in waiting:
                reason = reach(c.endpoint[0], c.endpoint[1], 3.0) if c.endpoint else ""
                reason = f"{c.endpoint[2]} {reason}" if reason and c.endpoint else reason
                c.status, c.seconds = "failed", elapsed
                c.detail = (
                    f"Alertmanager's {kind} attempts fail ({attempts:.0f} so far, it keeps retrying)"
                    + (f": {reason}" if reason else "")
                    + (f"; one of {names}" if len(waiting) > 1 else "")
                )
        elif delivered >= len(mine) and failed == 0:
            for c in waiting:
                c.status, c.seconds = "delivered", elapsed
                c.detail = f"Alertmanager sent it ({kind} notifications +{sent:.0f}, none failed)"


def _wait(
    confirmations: Sequence[Confirmation],
    alertname: str,
    status: str,
    since: float,
    managers: Sequence[Component],
    receiver: Component | None,
    before: Mapping[str, Mapping[str, float]],
    logs: Sequence[Path],
    offsets: Mapping[Path, int],
    started: float,
    timeout: float,
    poll: float,
) -> None:
    pending = [c for c in confirmations if c.status == "waiting"]
    while pending:
        elapsed = time.monotonic() - started
        local = [c for c in pending if c.via == "receiver history"]
        if local and receiver is not None:
            try:
                rows = call_json(
                    "GET",
                    f"{receiver.url}/api/v1/notifications",
                    params={"alertname": alertname, "status": status, "since": f"{since:.3f}", "limit": 1000},
                )
            except CallFailed:
                rows = []
            sinks = {"webhook": "webhook", "email": "email", "slack": "slack"}
            for c in local:
                if any(r.get("receiver") == c.receiver and r.get("sink") == sinks[c.kind] for r in rows):
                    c.status, c.seconds, c.detail = (
                        "delivered",
                        elapsed,
                        f"stored by the receiver ({c.kind} sink)",
                    )
        remote = [c for c in pending if c.via == "Alertmanager metrics"]
        if remote:
            _judge_remote(remote, _counters(managers), before, _log_failures(logs, offsets), elapsed)
        pending = [c for c in confirmations if c.status == "waiting"]
        if pending and elapsed > timeout:
            for c in pending:
                c.status, c.detail = "timeout", f"no confirmation within {timeout:.0f}s"
            return
        if pending:
            time.sleep(poll)


@dataclass
class DeliveryWatch:
    """The stack's Alertmanagers and receiver, and where their counters and logs stood at the start."""

    components: Sequence[Component]
    log_dir: Path
    before: dict[str, dict[str, float]] = field(default_factory=dict)
    offsets: dict[Path, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.managers = [c for c in self.components if c.kind == "alertmanager"]
        self.receiver = next((c for c in self.components if c.kind == "receiver"), None)
        self.logs = [self.log_dir / f"{am.name}.log" for am in self.managers]
        self.mark()

    def mark(self) -> None:
        """From now on: counters and log lines before this are not this notification's."""
        self.offsets = {p: p.stat().st_size if p.exists() else 0 for p in self.logs}
        self.before = _counters(self.managers)

    def plan(self, tree: RouteTree, deliveries: Sequence[Delivery]) -> list[Confirmation]:
        """One confirmation per receiver integration notified (``held``: the route sends nothing now)."""
        out = []
        for delivery in deliveries:
            config = tree.receivers.get(delivery.receiver, {})
            kinds = receiver_kinds(tree, delivery.receiver)
            if not kinds:
                dropped = "this receiver has no integration: it drops every alert"
                out.append(Confirmation(delivery.receiver, "-", "-", "failed", dropped))
                continue
            where = {k: (host, port, shown) for k, shown, host, port, _ in endpoints(dict(config)) if host}
            for kind in kinds:
                local = _local_sink(kind, config[f"{kind}_configs"][0], self.receiver)
                item = Confirmation(
                    delivery.receiver, kind, "receiver history" if local else "Alertmanager metrics"
                )
                item.endpoint = where.get(kind)
                if delivery.held:
                    opens = f" (opens {delivery.until.isoformat()})" if delivery.until else ""
                    item.status, item.detail = "held", f"not sent now: {delivery.held}{opens}"
                out.append(item)
        return out

    def wait(
        self,
        confirmations: Sequence[Confirmation],
        alertname: str,
        *,
        status: str = "firing",
        since: float,
        timeout: float,
        poll: float = 0.5,
    ) -> None:
        """Until every confirmation is delivered, failed or timed out (seconds counted from now)."""
        _wait(
            confirmations,
            alertname,
            status,
            since,
            self.managers,
            self.receiver,
            self.before,
            self.logs,
            self.offsets,
            time.monotonic(),
            timeout,
            poll,
        )
