"""The backtest of a spec: rules replayed, Alertmanager simulated, figures per rule (see the package)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.history.backtest._alertmanager import Notification, simulate
from tocsin.history.backtest._engine import AlertRule
from tocsin.history.backtest._rules import spec_rules
from tocsin.history.backtest._run import Backtest, run_backtest
from tocsin.history.backtest._summary import RuleSummary, notification_counts, summarize
from tocsin.spec import Spec

__all__ = ["BacktestResult", "alertmanager_document", "backtest_spec", "rules_dir", "select_rules"]


@dataclass
class BacktestResult:
    """A spec's alerts replayed: the raw replays, what Alertmanager would have sent, and per-rule figures."""

    backtest: Backtest
    notifications: list[Notification]
    summaries: list[RuleSummary] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.backtest.start

    @property
    def end(self) -> float:
        return self.backtest.end


class _AnyEnv(dict[str, str]):
    """Environment for compiling the Alertmanager config only to simulate it: a webhook's ``url_env``
    does not need to be set to know where its notifications would go."""

    def get(self, key: str, default: Any = None) -> Any:
        return os.environ.get(key) or "http://unset.invalid/"


def alertmanager_document(spec: Spec) -> dict[str, Any]:
    """The ``alertmanager.yml`` the spec compiles to, as a dict."""
    from tocsin.compile.alertmanager import alertmanager_config

    return alertmanager_config(spec, _AnyEnv())


def rules_dir(spec: Spec) -> str:
    """Where the stack's Prometheus reads the spec's rule files (their path names the groups' offsets)."""
    root = Path(spec.source).parent if spec.source else Path.cwd()
    return str(Path(root / spec.stack.state_dir).absolute() / "config" / "current" / "prometheus" / "rules")


def select_rules(rules: Sequence[AlertRule], alert: str | None) -> list[AlertRule]:
    """The rules of ``alert`` (all when None); ValueError naming the known alerts when it has none."""
    if alert is None:
        return list(rules)
    chosen = [r for r in rules if r.alert == alert]
    if not chosen:
        known = ", ".join(sorted({r.alert for r in rules})) or "none"
        raise ValueError(f"no alert {alert!r} in the spec (alerts: {known})")
    return chosen


def backtest_spec(
    base_url: str,
    spec: Spec,
    *,
    start: float,
    end: float,
    alert: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    concurrency: int | None = None,
    alertmanager: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """Replay ``spec``'s alerts (or only ``alert``'s) over ``[start, end]`` (Unix seconds)."""
    rules = select_rules(spec_rules(spec, rules_dir(spec)), alert)
    kwargs: dict[str, Any] = {"progress": progress}
    if concurrency:
        kwargs["concurrency"] = concurrency
    backtest = run_backtest(base_url, rules, start, end, **kwargs)
    config = alertmanager if alertmanager is not None else alertmanager_document(spec)
    episodes = [e for r in backtest.replays for e in r.episodes]
    # episodes already firing at the start were notified before it: keep only what the range would send
    notifications = [n for n in simulate(config, episodes, backtest.end) if n.at >= start]
    counts = notification_counts(rules, notifications)
    summaries = [summarize(r, counts=counts) for r in backtest.replays]
    return BacktestResult(backtest, notifications, summaries)
