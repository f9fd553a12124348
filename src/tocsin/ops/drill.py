"""``tocsin drill``: seed 003's monthly recovery test ("kill + restart") as a command, timed.

For a service of the spec: the process listening on its target's port is killed, then the drill waits
for each step and records when it happened, counted from the kill::

    killed     the process (found by its listening port) got SIGKILL (or --signal TERM)
    fired      Prometheus fires the alert that watches it (its TargetDown, or --alert NAME)
    delivered  every receiver of that alert's route got the firing notification
    restarted  the service answers its scrapes again (its own supervisor, systemd, or --restart CMD)
    resolved   the alert resolved, and the resolved notification arrived too

For a component of the stack (``--component prometheus``): it is killed and ``restarted`` is the
supervisor's restart; there is usually no alert for the stack's own parts (Prometheus cannot alert on
its own death), so fired/delivered/resolved are skipped unless ``--alert`` names one.

The signal is SIGKILL (a crash) unless a crash of that component would lose data it had acknowledged,
which a recovery drill must not do to a production stack; those get SIGTERM by default and the
report says why (:func:`default_signal`; measured on Debian's builds): VictoriaMetrics 1.79 (the
samples of the last seconds), a single Alertmanager 0.25 (silences set since its last snapshot,
taken every 15 min; HA replicas give them back to each other, so they keep SIGKILL) and Pushgateway
1.5 (pushes since its last persistence). ``--signal KILL`` still forces a crash.

A drill fails at the first step that does not happen in time, and before killing anything when no
alert of the spec watches the target: a recovery test that cannot see the outage proves nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tocsin.durations import duration_seconds
from tocsin.errors import UsageError
from tocsin.ops._delivery import Confirmation, DeliveryWatch
from tocsin.ops.routes import RouteTree
from tocsin.promapi import PrometheusAPI, PrometheusAPIError
from tocsin.stack.components import Component
from tocsin.stack.layout import StackLayout
from tocsin.stack.state import read_state

__all__ = ["DrillReport", "Step", "default_signal", "drill"]

STEPS = ("killed", "fired", "delivered", "restarted", "resolved")

#: what a SIGKILL of a component of this kind loses (measured here), so the drill sends SIGTERM
_LOST_ON_KILL = {
    "long_term": "VictoriaMetrics loses the samples of its last seconds on SIGKILL "
    "(acknowledged, so Prometheus never sends them again)",
    "pushgateway": "Pushgateway loses the pushes since its last persistence on SIGKILL",
    "alertmanager": "a single Alertmanager loses the silences set since its last snapshot "
    "(every 15 min) on SIGKILL",
}


@dataclass
class Step:
    name: str
    status: str = "pending"  # pass, fail, skip
    #: seconds after the kill
    at: float | None = None
    detail: str = ""


@dataclass
class DrillReport:
    target: str
    alert: str | None
    steps: list[Step] = field(default_factory=list)
    deliveries: list[Confirmation] = field(default_factory=list)
    #: what the report's reader should know (e.g. why this signal)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(s.status in ("pass", "skip") for s in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


@dataclass(frozen=True)
class Expectation:
    """The alert that must fire: its name and the labels that pick its series out."""

    alert: str
    labels: dict[str, str]
    wait: float  # its for:, the most it should take to fire after the first failed scrape


def expected_alert(spec: Any, service: str | None, alert: str | None) -> Expectation | None:
    """The alert the spec has for this target; None when the spec has none (the drill then fails)."""
    if alert is not None:
        found = spec.alert(alert)
        if found is None and alert != "TargetDown":
            names = ", ".join(sorted({a.name for a in spec.alerts})) or "none"
            raise UsageError(f"no alert {alert!r} in the spec (alerts: {names})")
        if found is not None:
            labels = {"service": found.service} if found.service else {}
            return Expectation(alert, labels, _longest_for(found))
    if service is not None:
        down = spec.services[service].down
        if down.enabled:
            return Expectation("TargetDown", {"service": service}, duration_seconds(down.for_))
        for a in spec.alerts:
            if a.service == service:
                return Expectation(a.name, {"service": service}, _longest_for(a))
    return None


def _longest_for(alert: Any) -> float:
    levels = list(alert.levels()) or [alert.severity or "critical"]
    return max((duration_seconds(alert.for_level(level) or "0s") for level in levels), default=0.0)


def _listening_pids(port: int) -> list[int]:
    import psutil

    pids = set()
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            pids.add(conn.pid)
    return sorted(pids)


def _poll(what: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _firing(prom: PrometheusAPI, expected: Expectation) -> bool:
    try:
        alerts = prom.alerts()
    except PrometheusAPIError:
        return False
    return any(
        a["state"] == "firing"
        and a["labels"].get("alertname") == expected.alert
        and all(a["labels"].get(k) == v for k, v in expected.labels.items())
        for a in alerts
    )


@dataclass
class _Drill:
    report: DrillReport
    prom: PrometheusAPI
    killed_at: float = 0.0
    killed_wall: float = 0.0

    def mark(self, name: str, ok: bool, detail: str) -> bool:
        step = self.report.step(name)
        step.status, step.detail = ("pass" if ok else "fail"), detail
        step.at = round(time.monotonic() - self.killed_at, 2) if ok else None
        return ok

    def skip(self, names: Sequence[str], why: str) -> None:
        for name in names:
            step = self.report.step(name)
            if step.status == "pending":
                step.status, step.detail = "skip", why


def _up(prom: PrometheusAPI, job: str) -> bool:
    try:
        answer = prom.query(f'min(up{{job="{job}"}})')
    except PrometheusAPIError:
        return False
    return bool(answer) and float(answer[0]["value"][1]) == 1


def drill(
    spec: Any,
    components: Sequence[Component],
    log_dir: Path,
    tree: RouteTree,
    *,
    service: str | None = None,
    component: str | None = None,
    alert: str | None = None,
    sig: int | None = None,
    restart: Sequence[str] | None = None,
    timeout: float = 120.0,
    layout: StackLayout | None = None,
) -> DrillReport:
    """Run one drill; the report says which step failed and when each one happened.

    ``sig`` None: :func:`default_signal` (SIGKILL, or SIGTERM where a kill loses data)."""
    if (service is None) == (component is None):
        raise UsageError("drill one thing: --service NAME or --component NAME")
    prometheus = next((c for c in components if c.kind == "prometheus"), None)
    if prometheus is None:
        raise UsageError("the stack runs no Prometheus: nothing could see the outage")
    if service is not None and service not in spec.services:
        raise UsageError(f"no service {service!r} (services: {', '.join(spec.services) or 'none'})")
    expected = expected_alert(spec, service, alert) if (service or alert) else None
    target = f"service {service}" if service else f"component {component}"
    report = DrillReport(target, expected.alert if expected else None, [Step(n) for n in STEPS])
    run = _Drill(report, PrometheusAPI(prometheus.url, timeout=5))
    if sig is None:
        sig, why = default_signal(component, components)
        if why:
            report.notes.append(why)
    if service is not None and expected is None:
        run.mark(
            "killed",
            False,
            f"nothing was killed: no alert of the spec watches {service} (services.{service}.down is "
            "disabled and no alert names it): an outage would go unnoticed; enable its TargetDown or add one",
        )
        run.skip(STEPS, "no alert to wait for")
        return report
    try:
        pids, why = _victims(spec, service, component, components, layout)
        if not pids:
            run.mark("killed", False, why)
            run.skip(STEPS, "nothing was killed")
            return report
        job = service or _component_job(component or "")
        if service is not None and not _up(run.prom, job):
            run.mark("killed", False, f"{service} is not up before the drill: fix it first (tocsin doctor)")
            run.skip(STEPS, "nothing was killed")
            return report
        watch = DeliveryWatch(components, log_dir)
        run.killed_at, run.killed_wall = time.monotonic(), time.time()
        for pid in pids:
            os.kill(pid, sig)
        run.mark("killed", True, f"{signal.Signals(sig).name} to pid {', '.join(map(str, pids))}")
        run.report.step("killed").at = 0.0
        _follow(run, spec, expected, tree, watch, job, pids, component, restart, timeout, layout)
    finally:
        run.prom.close()
    return report


def default_signal(component: str | None, components: Sequence[Component]) -> tuple[int, str]:
    """SIGKILL, or SIGTERM with the reason when a SIGKILL of ``component`` would lose acknowledged data.

    Alertmanager replicas (``stack.ha``) keep SIGKILL: a restarted replica gets its silences back
    from its peer, so the crash a drill means to test loses nothing there."""
    kind = next((c.kind for c in components if c.name == component), None)
    if kind is None or kind not in _LOST_ON_KILL:
        return signal.SIGKILL, ""
    if kind == "alertmanager" and sum(c.kind == "alertmanager" for c in components) > 1:
        return signal.SIGKILL, ""
    return signal.SIGTERM, f"SIGTERM, not SIGKILL: {_LOST_ON_KILL[kind]}; --signal KILL to crash it anyway"


def _component_job(component: str) -> str:
    return {"node-exporter": "node"}.get(
        component, component.rsplit("-", 1)[0] if component[-2:] in ("-0", "-1") else component
    )


def _victims(
    spec: Any, service: str | None, component: str | None, components: Sequence[Component], layout: Any
) -> tuple[list[int], str]:
    if component is not None:
        names = [c.name for c in components]
        if component not in names:
            raise UsageError(f"no component {component!r} in this stack (components: {', '.join(names)})")
        state = read_state(layout) if layout is not None else None
        pid = ((state or {}).get("components", {}).get(component) or {}).get("pid")
        return ([int(pid)], "") if pid else ([], f"{component} is not running (tocsin status)")
    svc = spec.services[service]
    pids: list[int] = []
    for target in svc.targets:
        host, _, port = target.rpartition(":")
        if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            return [], f"{target} is on another machine: the drill kills local processes only"
        pids += _listening_pids(int(port))
    if not pids:
        return [], f"no process listens on {', '.join(svc.targets)} (is {service} running?)"
    return sorted(set(pids)), ""


def _follow(
    run: _Drill,
    spec: Any,
    expected: Expectation | None,
    tree: RouteTree,
    watch: DeliveryWatch,
    job: str,
    pids: Sequence[int],
    component: str | None,
    restart: Sequence[str] | None,
    timeout: float,
    layout: Any,
) -> None:
    scrape = duration_seconds(spec.scrape.interval)
    interval = scrape + duration_seconds(spec.scrape.evaluation_interval)
    if expected is None:
        run.skip(("fired", "delivered"), "no alert watches this component (--alert NAME to name one)")
    else:
        early: list[float] = []  # when it was scraped again (after being seen down) before firing
        seen_down: list[bool] = []

        def fired_or_back() -> bool:
            if _firing(run.prom, expected):
                return True
            elapsed = time.monotonic() - run.killed_at
            if component is None and not early:
                if not _up(run.prom, job):
                    seen_down.append(True)
                elif seen_down or elapsed > 2 * scrape:  # a scrape after the kill succeeded
                    early.append(elapsed)
            return bool(early) and elapsed > early[0] + expected.wait + 2 * interval

        fired = _poll(fired_or_back, expected.wait + 3 * interval + timeout) and _firing(run.prom, expected)
        why = f"{expected.alert} never fired"
        if early and not fired:
            seen = "" if seen_down else ", too soon for Prometheus to see it down"
            why = (
                f"{job} was back after {early[0]:.1f}s{seen}, before {expected.alert} could fire (it waits "
                f"{expected.wait:g}s): nothing was notified; the outage was shorter than the alert's for"
            )
        if not run.mark("fired", bool(fired), f"{expected.alert} firing" if fired else why):
            run.skip(STEPS, "the alert did not fire")
            return
        labels = {"alertname": expected.alert, **expected.labels}
        rules = [a["labels"] for a in run.prom.alerts() if a["labels"].get("alertname") == expected.alert]
        labels = next(
            (dict(r) for r in rules if all(r.get(k) == v for k, v in expected.labels.items())), labels
        )
        run.report.deliveries = watch.plan(tree, tree.deliveries(labels, datetime.now(UTC)))
        wait = max(
            (duration_seconds(str(r.timings["group_wait"])) for r in tree.routes_for(labels)), default=0
        )
        watch.wait(run.report.deliveries, expected.alert, since=run.killed_wall, timeout=wait + timeout)
        bad = [c for c in run.report.deliveries if c.status != "delivered"]
        detail = ", ".join(f"{c.receiver} ({c.kind})" for c in run.report.deliveries)
        if bad:
            detail = "; ".join(f"{c.receiver} ({c.kind}): {c.status}, {c.detail}" for c in bad)
        run.mark("delivered", not bad and bool(run.report.deliveries), detail or "no receiver on its route")
    if restart:
        try:
            subprocess.Popen(list(restart), stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:  # the report still says what happened up to here
            run.mark("restarted", False, f"--restart {restart[0]!r} did not start: {exc.strerror or exc}")
            run.skip(STEPS, "it was not restarted")
            return
    back = _poll(lambda: _back(run.prom, job, component, pids, layout), timeout)
    who = (
        "its own restart"
        if component is None and not restart
        else ("the supervisor" if component else "--restart")
    )
    if not run.mark(
        "restarted", back, f"answers again ({who})" if back else f"not back within {timeout:.0f}s"
    ):
        run.skip(STEPS, "it did not come back")
        return
    if expected is None:
        run.skip(("resolved",), "no alert watches this component")
        return
    gone = _poll(lambda: not _firing(run.prom, expected), 3 * interval + timeout)
    if not gone:
        run.mark("resolved", False, f"{expected.alert} still firing {timeout:.0f}s after the restart")
        return
    resolved = watch.plan(tree, tree.deliveries(labels, datetime.now(UTC)))
    watch.wait(resolved, expected.alert, status="resolved", since=run.killed_wall, timeout=timeout)
    missing = [c for c in resolved if c.status != "delivered" and c.via == "receiver history"]
    note = "; resolved notification missing at " + ", ".join(c.receiver for c in missing) if missing else ""
    run.mark("resolved", not missing, f"{expected.alert} resolved{note}")


def _back(prom: PrometheusAPI, job: str, component: str | None, pids: Sequence[int], layout: Any) -> bool:
    if component is not None:
        from tocsin.stack.status import stack_status

        current = stack_status(layout) if layout is not None else None
        entry = next((c for c in (current.components if current else []) if c.name == component), None)
        return entry is not None and entry.up and entry.pid not in pids
    return _up(prom, job)
