"""Play a scenario on a running example and measure it: a clean period, then each fault in turn.

What counts is what a person on call would see: the notifications the stack's receiver got
(``GET /api/v1/notifications``: webhook, mail and Slack rows, each with its Alertmanager receiver,
severity and priority). A fault *fires* an expected alert when a firing notification with its name,
severity and labels reached every receiver listed, with the expected priority, within the budget;
any other firing notification during the clean period or a fault is a *false alert*. A fault is
*resolved* when, after its command stopped, no expected alert is pending or firing in Prometheus.

The result of a run is a list of :class:`Row`, one per expected alert, plus one per false alert:
what docs/detection.md is assembled from (:mod:`examples._harness.detection`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tocsin.durations import duration_seconds

from .run import ExampleRun
from .scenario import Expect, Fault
from .timing import route_notifies

__all__ = ["Observer", "Row", "play", "skip_reason"]


@dataclass
class Row:
    """One line of the detection matrix."""

    example: str
    phase: str  # "clean" or the fault's name
    fault: str  # the fault's title ("" for the clean period)
    alert: str
    severity: str
    priority: str
    receivers: list[str]
    budget_s: float | None  # None for a false alert
    fired_s: float | None = None  # seconds from the fault's start to the last receiver's notification
    resolved_s: float | None = None  # seconds from the fault's stop to no longer firing
    ok: bool = False
    false_alert: bool = False
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Observer:
    """Reads the receiver's notifications and Prometheus' alerts of one run."""

    run: ExampleRun
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def notifications(self, since: float) -> list[dict[str, Any]]:
        """Firing notifications received since ``since`` (Unix s), oldest first."""
        answer = self.client.get(
            f"{self.run.urls['receiver']}/api/v1/notifications",
            params={"since": f"{since:.3f}", "status": "firing", "limit": 10000},
        )
        answer.raise_for_status()
        return sorted(answer.json(), key=lambda n: n["received_at"])

    def active_alerts(self) -> list[dict[str, Any]]:
        """Prometheus' pending and firing alerts."""
        answer = self.client.get(f"{self.run.urls['prometheus']}/api/v1/alerts")
        answer.raise_for_status()
        return list(answer.json()["data"]["alerts"])

    def alertmanager_alerts(self) -> list[dict[str, Any]]:
        """Alertmanager's alerts not resolved yet, inhibited and silenced ones included."""
        answer = self.client.get(f"{self.run.urls['alertmanager']}/api/v2/alerts")
        answer.raise_for_status()
        return list(answer.json())

    def close(self) -> None:
        self.client.close()


def _labels_of(note: dict[str, Any]) -> dict[str, str]:
    """A notification's alert labels: a webhook row has them all; a mail or Slack row its group's."""
    labels = dict(note.get("labels") or {})
    for key in ("alertname", "severity", "priority"):
        if note.get(key):
            labels.setdefault(key, note[key])
    return labels


def _matches(expect: Expect, note: dict[str, Any]) -> bool:
    labels = _labels_of(note)
    if note["sink"] != "webhook":  # a mail or Slack message carries its group's labels only
        labels = {**expect.labels, **labels}
    return expect.matches(labels)


def _expected(expects: Iterable[Expect], note: dict[str, Any]) -> bool:
    """Expected, or the warning of an alert whose critical is expected (Alertmanager's inhibition
    silences it only when the critical arrives first: both crossing at once may notify either)."""
    expects = list(expects)
    if any(_matches(e, note) for e in expects):
        return True
    labels = {**_labels_of(note), "severity": "critical"}
    return note.get("severity") == "warning" and any(e.matches({**e.labels, **labels}) for e in expects)


def _wait(predicate: Callable[[], bool], timeout: float, run: ExampleRun, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        run.check_processes()
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def clean_period(run: ExampleRun, observer: Observer, seconds: float) -> list[Row]:
    """Traffic and no fault for ``seconds``: every firing notification is a false alert."""
    since = time.time()
    _wait(lambda: False, seconds, run)
    rows = [_false(run, "clean", "", note) for note in observer.notifications(since)]
    firing = [a for a in observer.active_alerts() if a["state"] == "firing"]
    for alert in firing:
        labels = alert["labels"]
        if not any(r.alert == labels.get("alertname") for r in rows):
            rows.append(
                Row(run.scenario.example, "clean", "", labels.get("alertname", ""),
                    labels.get("severity", ""),
                    labels.get("priority", ""), [], None, false_alert=True, note="firing in Prometheus")
            )  # fmt: skip
    return rows


def _false(run: ExampleRun, phase: str, title: str, note: dict[str, Any]) -> Row:
    return Row(
        run.scenario.example, phase, title, note["alertname"], note.get("severity", ""),
        note.get("priority", ""), [note["receiver"]], None, false_alert=True, note=f"via {note['sink']}",
    )  # fmt: skip


def play_fault(run: ExampleRun, observer: Observer, fault: Fault) -> list[Row]:
    """Inject ``fault``, wait for its alerts at their receivers, stop it, wait for resolution.

    A receiver whose route is muted right now (``active_time_intervals`` outside business hours,
    ``mute_time_intervals``) must get nothing; the alert must then fire in Prometheus instead.
    """
    spec = run.loaded_spec()
    now = datetime.now(UTC)
    muted: dict[tuple[str, str], str] = {}
    for e in fault.expect:
        notifies, why = route_notifies(spec, e.priority, e.severity, now)
        if not notifies:
            muted[e.key] = why
    rows = {
        e.key: Row(run.scenario.example, fault.name, fault.title, e.alert, e.severity, e.priority,
                   list(e.receivers), duration_seconds(e.within))
        for e in fault.expect
    }  # fmt: skip
    seen: dict[tuple[str, str], dict[str, float]] = {e.key: {} for e in fault.expect}
    firing_at: dict[tuple[str, str], float] = {}
    wrong: dict[tuple[str, str], set[str]] = {e.key: set() for e in fault.expect}
    since = time.time()
    started = time.monotonic()

    def fired() -> bool:
        for note in observer.notifications(since):
            for expect in fault.expect:
                if not (_matches(expect, note) and note["receiver"] in expect.receivers):
                    continue
                if expect.key in muted:
                    wrong[expect.key].add(f"notified at {note['receiver']} although {muted[expect.key]}")
                seen[expect.key].setdefault(note["receiver"], note["received_at"] - since)
                if note.get("priority") and note["priority"] != expect.priority:
                    wrong[expect.key].add(f"priority {note['priority']} at {note['receiver']}")
        if muted:
            for alert in observer.active_alerts():
                for expect in fault.expect:
                    if alert["state"] == "firing" and expect.key in muted and expect.matches(alert["labels"]):
                        firing_at.setdefault(expect.key, time.time() - since)
        done = all(
            e.key in firing_at if e.key in muted else set(seen[e.key]) >= set(e.receivers)
            for e in fault.expect
        )
        return done and time.monotonic() - started >= duration_seconds(fault.hold)

    with run.fault(fault):
        _wait(fired, max(fault.budget, duration_seconds(fault.hold)), run)
        stopped = time.time()
    false_rows = [
        _false(run, fault.name, fault.title, note)
        for note in observer.notifications(since)
        if note["received_at"] <= stopped + 1 and not _expected(fault.expect, note)
    ]
    for expect in fault.expect:
        row, times = rows[expect.key], seen[expect.key]
        notes = sorted(wrong[expect.key])
        if expect.key in muted:
            row.fired_s = round(firing_at[expect.key], 1) if expect.key in firing_at else None
            notes.insert(0, f"{muted[expect.key]}: fired in Prometheus, no notification, as routed")
        else:
            missing = sorted(set(expect.receivers) - set(times))
            if missing:
                notes.insert(0, f"not notified at {', '.join(missing)}")
            else:
                row.fired_s = round(max(times.values()), 1)
        row.note = "; ".join(notes)
        row.ok = not wrong[expect.key] and row.fired_s is not None and row.fired_s <= (row.budget_s or 0)

    stop_clock = time.monotonic()
    gone: dict[tuple[str, str], float] = {}

    def resolved() -> bool:
        active = observer.active_alerts()
        for e in fault.expect:
            if e.key not in gone and not any(e.matches(a["labels"]) for a in active):
                gone[e.key] = round(time.monotonic() - stop_clock, 1)
        return len(gone) == len(fault.expect)

    _wait(resolved, duration_seconds(fault.resolves_within), run)
    for key, row in rows.items():
        row.resolved_s = gone.get(key)
        if row.resolved_s is None:
            row.ok = False
            row.note = "; ".join(filter(None, [row.note, "still firing after the fault stopped"]))
    return [*rows.values(), *false_rows]


def skip_reason(fault: Fault) -> str:
    """Why this machine cannot play ``fault`` ("" when it can): a privileged fault needs root."""
    return "it needs root" if fault.privileged and os.geteuid() != 0 else ""


def play(
    run: ExampleRun, *, faults: Iterable[str] | None = None, report: Callable[[str], None] = print
) -> list[Row]:
    """Warm-up, the clean period, then every fault (or those named) in turn; the rows of all."""
    scenario = run.scenario
    observer = Observer(run)
    try:
        report(f"{scenario.example}: warm-up {scenario.warmup}")
        _wait(lambda: False, duration_seconds(scenario.warmup), run)
        report(f"{scenario.example}: clean period {scenario.clean}")
        rows = clean_period(run, observer, duration_seconds(scenario.clean))
        for row in rows:
            report(f"  {_describe(row)}")
        chosen = [scenario.fault(n) for n in faults] if faults is not None else scenario.faults
        for fault in chosen:
            why = skip_reason(fault)
            if why:
                report(f"{scenario.example}: fault {fault.name} skipped: {why}")
                continue
            report(f"{scenario.example}: fault {fault.name}: {fault.title}")
            fault_rows = play_fault(run, observer, fault)
            for row in fault_rows:
                report(f"  {_describe(row)}")
            rows.extend(fault_rows)
            with contextlib.suppress(Exception):
                _settle(run, observer)
        return rows
    finally:
        observer.close()


def _settle(run: ExampleRun, observer: Observer, timeout: float = 30.0, quiet: float = 3.0) -> None:
    """Before the next fault: nothing firing any more (a fault's tail must not count for the next).

    Nothing firing in Prometheus, nothing left in Alertmanager, and no firing notification for
    ``quiet`` seconds: a warning inhibited by its critical is delivered when the critical resolves,
    a moment after Prometheus stopped showing either on a loaded machine.
    """
    deadline = time.monotonic() + timeout

    def calm() -> bool:
        firing = [a for a in observer.active_alerts() if a["state"] == "firing"]
        return not firing and not observer.alertmanager_alerts()

    _wait(calm, timeout, run)
    _wait(lambda: not observer.notifications(time.time() - quiet), max(0.0, deadline - time.monotonic()), run)


def _describe(row: Row) -> str:
    if row.false_alert:
        where = ", ".join(row.receivers)
        return f"FALSE ALERT {row.alert} ({row.severity}, {row.priority}) at {where} {row.note}"
    state = "ok" if row.ok else "FAILED"
    assert row.budget_s is not None
    fired = f"fired in {row.fired_s:.1f}s" if row.fired_s is not None else "did not fire"
    resolved = f"resolved in {row.resolved_s:.1f}s" if row.resolved_s is not None else "did not resolve"
    budget = f"(budget {row.budget_s:.0f}s)"
    return f"{state}: {row.alert} ({row.severity}, {row.priority}) {fired} {budget}, {resolved} {row.note}"
