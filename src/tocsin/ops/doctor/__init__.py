"""``tocsin doctor``: what is wrong with a stack, each finding in plain words with its fix.

Checks run in order, from the machine up to the notifications::

    binaries    each component's binary is installed, at a version tocsin is tested with
    ports       a stopped stack's ports are free for `tocsin up` (who holds one that is not)
    components  every component runs and answers; the supervisor is alive; nothing restarts in a loop
    config      the spec loads, its compiled config passes promtool/amtool; the last reloads worked
    disk        the state dir's filesystem has room (and when the TSDB's growth fills it)
    targets     down targets and why (refused, 404 on the metrics path, timeout, not metrics)
    rules       rules failing at every evaluation, at the spec line of their alert; slow groups
    tsdb        head series and churn (the labels that explode)
    clock       Prometheus' clock against this machine's, NTP from node-exporter
    long-term   remote write to the long-term store keeping up
    receivers   every receiver endpoint accepts connections (webhook, SMTP smarthost, Slack URL)
    notifications  Alertmanager's own failures, by receiver and reason (its metrics and its log)

Exit status of the command: 0 when no check found an error, 1 when one did, 3 when no stack runs
(the machine-level checks still run and print).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tocsin.ops.doctor import _alerting, _local, _prometheus
from tocsin.ops.doctor._base import Check, Context, Finding
from tocsin.ops.doctor._base import error as _error
from tocsin.stack.components import Component, read_plan
from tocsin.stack.layout import StackLayout
from tocsin.stack.status import stack_status

__all__ = ["CHECKS", "Context", "Finding", "diagnose", "doctor_context"]

CHECKS: tuple[Check, ...] = (
    _local.binaries,
    _local.ports,
    _local.components,
    _local.config,
    _prometheus.reloads,
    _local.disk,
    _prometheus.targets,
    _prometheus.rules,
    _prometheus.tsdb,
    _prometheus.clock,
    _prometheus.long_term,
    _alerting.receivers,
    _alerting.notifications,
    _alerting.cluster,
)


def doctor_context(
    layout: StackLayout, spec_path: Path | None, *, min_free: float = 0.1, timeout: float = 5.0
) -> Context:
    """What the checks read: the spec (its load error, if any), the stack's status and plan."""
    from tocsin.errors import SpecError
    from tocsin.spec import load_spec

    spec, spec_error = None, ""
    if spec_path is not None:
        try:
            spec = load_spec(spec_path)
        except SpecError as exc:
            spec_error = "; ".join(exc.lines())
    components = read_plan(layout)[0] if layout.plan_file.is_file() else []
    if not components and spec is not None:  # never started here: the plan `tocsin up` would run
        components = _planned(spec, spec_path, layout)
    return Context(layout, spec, spec_error, stack_status(layout), components, min_free, timeout)


def _planned(spec: Any, spec_path: Path | None, layout: StackLayout) -> list[Component]:
    from tocsin.errors import StackError
    from tocsin.stack.components import StackSettings, build_plan

    base = spec_path.parent if spec_path is not None else Path.cwd()
    settings = StackSettings.from_spec(spec.stack, base, logs_spec=spec_path if spec.logs else None)
    try:
        return build_plan(settings, layout)
    except StackError:  # a missing binary: the binaries check says which
        return []


def diagnose(ctx: Context, checks: Sequence[Check] = CHECKS) -> list[Finding]:
    """Every finding of every check; a check that breaks is itself a finding, never a traceback."""
    findings: list[Finding] = []
    try:
        for check in checks:
            try:
                findings.extend(check(ctx))
            except Exception as exc:  # a bug in one check must not hide what the others found
                findings.append(
                    _error(
                        "doctor",
                        check.__name__,
                        f"this check failed: {type(exc).__name__}: {exc}",
                        "report it",
                    )
                )
    finally:
        ctx.close()
    return findings
