"""``tocsin test-notify``: a synthetic alert through the running Alertmanager, confirmed at each receiver.

The alert is posted to every Alertmanager of the stack with the labels of the route under test (a
priority, a receiver's route, or labels given), and a unique ``alertname`` so it opens its own group
(``group_wait``, not a running group's ``group_interval``) and nothing inhibits it. Then each receiver
the route notifies is confirmed where it can be seen:

- a sink of the stack's own receiver (its webhook, its SMTP sink, its Slack-compatible endpoint): the
  notification is read back from the receiver's history (``/api/v1/notifications``), by alert and
  receiver name;
- anything else (a real SMTP server, Slack, a webhook elsewhere): Alertmanager's own counters,
  ``alertmanager_notifications_total`` and ``..._failed_total`` per integration, against their values
  before the test; a failure is named from Alertmanager's ``Notify for alerts failed`` log line.

A route outside its active time intervals (or inside a mute one) sends nothing now: that receiver is
reported ``held`` with the time it opens, not as delivered. The alert is resolved at the end.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tocsin.durations import duration_seconds
from tocsin.errors import StackError, UsageError
from tocsin.ops._delivery import Confirmation, DeliveryWatch
from tocsin.ops._http import CallFailed, call
from tocsin.ops.routes import RouteTree
from tocsin.stack.components import Component

__all__ = ["NotifyTest", "labels_for", "run_test_notify"]


@dataclass
class NotifyTest:
    alertname: str
    labels: dict[str, str]
    confirmations: list[Confirmation] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.confirmations) and all(c.status == "delivered" for c in self.confirmations)


def labels_for(
    tree: RouteTree, *, receiver: str | None, priority: str | None, labels: Mapping[str, str]
) -> dict[str, str]:
    """The labels that take the synthetic alert where the user asked."""
    out = {"severity": "critical", **dict(labels)}
    if priority:
        out["priority"] = priority
    if receiver:
        if receiver not in tree.receivers:
            raise UsageError(f"no receiver {receiver!r} (receivers: {', '.join(sorted(tree.receivers))})")
        for node in tree.root.children:
            if receiver in [n.receiver for n in node.fan_out()]:
                out.update({name: value for name, op, value in node.matchers if op == "="})
                return out
        if tree.root.receiver != receiver and receiver not in [n.receiver for n in tree.root.fan_out()]:
            raise UsageError(
                f"no route sends to {receiver!r}: nothing would notify it (tocsin routes shows the tree)"
            )
    return out


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")


def _post(managers: Sequence[Component], labels: Mapping[str, str], summary: str, ends: float) -> None:
    alert = {
        "labels": dict(labels),
        "annotations": {
            "summary": summary,
            "description": "sent by `tocsin test-notify`; resolves by itself",
        },
        "startsAt": _iso(time.time()),
        "endsAt": _iso(ends),
        "generatorURL": "http://127.0.0.1/tocsin-test-notify",
    }
    posted = 0
    for am in managers:
        try:
            call("POST", f"{am.url}/api/v2/alerts", json=[alert], timeout=10)
            posted += 1
        except CallFailed as exc:
            last = str(exc)
    if not posted:
        raise StackError(f"no Alertmanager took the test alert: {last}")


def run_test_notify(
    tree: RouteTree,
    components: Sequence[Component],
    log_dir: Path,
    labels: Mapping[str, str],
    *,
    timeout: float | None = None,
    poll: float = 0.5,
) -> NotifyTest:
    """Send the synthetic alert and wait until each receiver of its route confirmed (or ``timeout``)."""
    watch = DeliveryWatch(components, log_dir)
    if not watch.managers:
        raise StackError("no Alertmanager runs in this stack (tocsin status); start it with tocsin up")
    name = f"TocsinTestNotify_{secrets.token_hex(3)}"
    test = NotifyTest(name, {**dict(labels), "alertname": name})
    routes = tree.deliveries(test.labels, datetime.now(UTC))
    waits = [duration_seconds(str(d.route.timings["group_wait"])) for d in routes]
    deadline_after = timeout if timeout is not None else max(waits, default=0) + 60
    test.confirmations = watch.plan(tree, routes)
    since = time.time()
    _post(watch.managers, test.labels, f"tocsin test-notify {name}", time.time() + deadline_after + 300)
    try:
        watch.wait(test.confirmations, name, since=since, timeout=deadline_after, poll=poll)
    finally:
        try:  # resolve it: a test alert must not linger, nor page again at the repeat interval
            _post(watch.managers, test.labels, f"tocsin test-notify {name}", time.time())
        except StackError:
            pass
    return test
