"""The replay state machine and the Alertmanager simulation on hand-made inputs (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from tocsin.history.backtest import AlertRule, Episode, inline_records, replay, simulate, summarize
from tocsin.history.backtest._align import evaluation_grid, group_offset


def _answer(present: dict[str, list[int]], value: str = "1") -> list[dict[str, Any]]:
    """Series → the step indices where the rule's expression returned a sample (step 10 s from 0)."""
    return [
        {"metric": {"instance": name}, "values": [[float(i * 10), value] for i in steps]}
        for name, steps in present.items()
    ]


def _rule(**kw: Any) -> AlertRule:
    return AlertRule(alert="A", expr="x > 1", interval=10.0, **kw)


def _spans(result: Any) -> list[tuple[float, float | None, float | None]]:
    return [(e.active_at, e.fired_at, e.resolved_at) for e in result.episodes]


def test_for_absorbs_short_runs_and_fires_at_the_first_evaluation_past_it() -> None:
    # for 25s at a 10s step: fires on the 4th consecutive evaluation (30s >= 25s)
    result = replay(_rule(for_=25), 0, 10, 40, _answer({"a": [1, 2, 3, 5, 6, 7, 8, 9]}), 0)
    assert _spans(result) == [(10, None, 40), (50, 80, 100)]
    summary = summarize(result)
    assert (summary.fired, summary.firing_seconds, summary.near_misses) == (1, 20, 1)


def test_keep_firing_for_bridges_gaps_shorter_than_it() -> None:
    present = {"a": [0, 1, 2, 4, 5, 9]}
    plain = replay(_rule(), 0, 10, 20, _answer(present), 0)
    assert [(e.fired_at, e.resolved_at) for e in plain.episodes] == [(0, 30), (40, 60), (90, 100)]
    kept = replay(_rule(keep_firing_for=20), 0, 10, 20, _answer(present), 0)
    # gap at 3 bridged (1 step < 20 s); the gap 6..8 lasts 30 s: resolved at 80 = 60 + 20
    assert [(e.fired_at, e.resolved_at) for e in kept.episodes] == [(0, 80), (90, 120)]
    assert (summarize(plain).fired, summarize(kept).fired) == (3, 2)
    assert summarize(plain).flaps == 1 == summarize(kept).flaps  # re-fired 10 s after resolving


def test_label_sets_are_independent_and_still_firing_at_the_end_is_open() -> None:
    result = replay(
        _rule(labels={"severity": "warning"}), 0, 10, 10, _answer({"a": [0, 1], "b": [5, 6, 7, 8, 9]}), 0
    )
    assert [(e.labels["instance"], e.fired_at, e.resolved_at) for e in result.episodes] == [
        ("a", 0, 20),
        ("b", 50, None),
    ]
    assert result.episodes[0].labels == {"alertname": "A", "instance": "a", "severity": "warning"}
    assert summarize(result).firing_at_end == 1


def test_threshold_split_off_is_compared_like_promql() -> None:
    rule = _rule(value_expr="x", op=">", threshold=2.0)
    answer = [{"metric": {}, "values": [[0.0, "1"], [10.0, "3"], [20.0, "NaN"], [30.0, "+Inf"]]}]
    assert [(e.fired_at, e.resolved_at) for e in replay(rule, 0, 10, 5, answer, 0).episodes] == [
        (10, 20),
        (30, 40),
    ]


def test_duplicate_alert_labels_are_reported() -> None:
    answer = [{"metric": {"__name__": n}, "values": [[0.0, "1"]]} for n in ("x", "y")]
    assert "same labelset" in replay(_rule(), 0, 10, 2, answer, 0).warnings[0]


def test_group_offset_matches_prometheus_hash() -> None:
    # measured on Prometheus 2.42 (tests/history/test_backtest_live.py checks it end to end)
    assert group_offset("/tmp/hx/align/rules.yml", "alpha", 15) == 5.204
    assert group_offset("/tmp/hx/align/rules.yml", "beta.group", 7) == 0.085
    assert evaluation_grid(100.2, 200, 15, 3.5) == (108.5, 7)


def test_recording_rules_inline_with_their_labels() -> None:
    records = {"slo:ratio": [("a / b", {"slo": "x"}), ("c / d", {"slo": "y"})], "rec": [("sum(z)", {})]}
    assert inline_records('slo:ratio{slo="y"} > 0.1 and rec > 1', records) == (
        'label_replace((c / d), "slo", "y", "__name__", ".*") > 0.1 and (sum(z)) > 1'
    )
    # a range over it, or matchers it cannot decide: read what is stored
    assert inline_records("rate(rec[5m])", records) == "rate(rec[5m])"
    assert inline_records('slo:ratio{job="j"}', records) == 'slo:ratio{job="j"}'


# --- Alertmanager -----------------------------------------------------------------------------------------

CONFIG: dict[str, Any] = {
    "route": {
        "receiver": "default",
        "group_by": ["alertname"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "1h",
        "routes": [
            {
                "matchers": ['priority="P1"'],
                "receiver": "pager",
                "repeat_interval": "15m",
                "routes": [{"receiver": "pager", "continue": True}, {"receiver": "chat"}],
            },
        ],
    },
    "receivers": [
        {"name": "default", "webhook_configs": [{"url": "http://x", "send_resolved": True}]},
        {"name": "pager", "email_configs": [{"to": "a@b"}]},
        {"name": "chat", "slack_configs": [{"api_url_file": "/f"}]},
    ],
    "inhibit_rules": [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname"],
        }
    ],
}


def _ep(fired: float, resolved: float | None, **labels: str) -> Episode:
    return Episode({"alertname": "A", **labels}, fired, fired, resolved)


def test_group_wait_batches_then_group_interval_then_resolved() -> None:
    sent = simulate(CONFIG, [_ep(0, 600, instance="a"), _ep(10, 900, instance="b")], end=3600)
    assert [(n.at, len(n.firing), len(n.resolved), n.kind) for n in sent] == [
        (30, 2, 0, "firing"),  # both in the first flush, 30 s after the first
        (630, 1, 1, "resolved"),  # a resolved at 600: told at the next group_interval tick
        (930, 0, 1, "resolved"),
    ]
    assert {n.receiver for n in sent} == {"default"}


def test_repeat_interval_and_fan_out_with_continue() -> None:
    sent = simulate(CONFIG, [_ep(0, None, priority="P1")], end=3600)
    pager = [n.at for n in sent if n.receiver == "pager"]
    chat = [n.at for n in sent if n.receiver == "chat"]
    # a 15-minute repeat only goes out at a group_interval tick past it: 30, 30+20m, ...
    assert pager == [30, 1230, 2430] == chat
    assert [n.kind for n in sent if n.receiver == "pager"] == ["firing", "repeat", "repeat"]


def test_critical_inhibits_warning_of_the_same_alert() -> None:
    episodes = [_ep(0, 1000, severity="warning"), _ep(100, 400, severity="critical")]
    sent = simulate(CONFIG, episodes, end=3600)
    carried = [(n.at, sorted(a["severity"] for a in n.firing)) for n in sent if n.firing]
    # the warning is told at 30 s; while the critical fires it is muted; the critical gets its message
    assert carried[0] == (30, ["warning"]) and (330, ["critical"]) in carried
    assert all("warning" not in s for t, s in carried if 100 <= t < 400)


def test_alerts_that_fire_and_resolve_between_flushes_are_never_sent() -> None:
    sent = simulate(CONFIG, [_ep(0, 20, instance="a")], end=3600)
    assert sent == []


@pytest.mark.parametrize("resolved", [True, False])
def test_send_resolved_false_sends_no_resolved_message(resolved: bool) -> None:
    config = {
        **CONFIG,
        "receivers": [{"name": "default", "webhook_configs": [{"url": "u", "send_resolved": resolved}]}],
    }
    sent = simulate(config, [_ep(0, 100)], end=3600)
    assert [n.kind for n in sent] == (["firing", "resolved"] if resolved else ["firing"])
