"""Would this alert have fired last week, how often, for how long, and who would have been told?

:func:`backtest_spec` replays every alerting rule a spec compiles to over what Prometheus stored, with
Prometheus' own alert state machine at each rule group's own evaluation timestamps, then feeds the
firing episodes through the spec's Alertmanager routes, grouping, timers and inhibitions::

    from tocsin.history.backtest import backtest_spec
    from tocsin.spec import load_spec

    now = time.time()
    result = backtest_spec("http://127.0.0.1:9090", load_spec("tocsin.yaml"), start=now - 7 * 86400, end=now)
    for s in result.summaries:
        print(s.alert, s.severity, s.fired, s.firing_seconds, s.flaps, s.notifications)

The engine itself (:mod:`._engine`: :class:`AlertRule`, :func:`plan_queries`, :func:`replay`) is pure
Python, for callers that fetch the range queries themselves (the console). See ``docs/backtest.md``.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

if typing.TYPE_CHECKING:
    from tocsin.history.backtest._alertmanager import Notification, RouteNode, simulate
    from tocsin.history.backtest._api import (
        BacktestResult,
        alertmanager_document,
        backtest_spec,
        rules_dir,
        select_rules,
    )
    from tocsin.history.backtest._engine import AlertRule, Episode, RuleReplay, plan_queries, replay
    from tocsin.history.backtest._rules import inline_records, rules_from_groups, spec_rules
    from tocsin.history.backtest._run import Backtest, backtest_rules, run_backtest
    from tocsin.history.backtest._summary import (
        RuleSummary,
        SummaryDiff,
        diff_summaries,
        notification_counts,
        summarize,
    )

__all__ = [
    "AlertRule",
    "Backtest",
    "BacktestResult",
    "Episode",
    "Notification",
    "RouteNode",
    "RuleReplay",
    "RuleSummary",
    "SummaryDiff",
    "alertmanager_document",
    "backtest_rules",
    "backtest_spec",
    "diff_summaries",
    "inline_records",
    "notification_counts",
    "plan_queries",
    "replay",
    "rules_dir",
    "rules_from_groups",
    "run_backtest",
    "select_rules",
    "simulate",
    "spec_rules",
    "summarize",
]

_WHERE = {
    **dict.fromkeys(("Notification", "RouteNode", "simulate"), "_alertmanager"),
    **dict.fromkeys(
        ("BacktestResult", "alertmanager_document", "backtest_spec", "rules_dir", "select_rules"), "_api"
    ),
    **dict.fromkeys(("AlertRule", "Episode", "RuleReplay", "plan_queries", "replay"), "_engine"),
    **dict.fromkeys(("inline_records", "rules_from_groups", "spec_rules"), "_rules"),
    **dict.fromkeys(("Backtest", "backtest_rules", "run_backtest"), "_run"),
    **dict.fromkeys(
        ("RuleSummary", "SummaryDiff", "diff_summaries", "notification_counts", "summarize"), "_summary"
    ),
}


def __getattr__(name: str) -> Any:
    """Imported on first use: ``tocsin.history.backtest.light`` (the console's) must not pull the spec."""
    if name not in _WHERE:
        raise AttributeError(f"module 'tocsin.history.backtest' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tocsin.history.backtest.{_WHERE[name]}"), name)
