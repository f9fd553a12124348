"""``tocsin routes``: the walk agrees with ``amtool config routes test`` on every example spec, and time
intervals follow Alertmanager's rules (location, [start, end), weekday ranges, days from the end)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tocsin.compile import compile_spec
from tocsin.ops._timeintervals import TimeIntervals
from tocsin.ops.routes import parse_labels, route_tree, spec_route_tree
from tocsin.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "seeds").glob("*/tocsin.yaml"))
ESCALATION = """version: tocsin/v1
app: archiver
receivers:
  oncall: {email: {to: oncall@example.org, from: a@x.org, smarthost: "127.0.0.1:2525", require_tls: false}}
  lead: {email: {to: lead@example.org, from: a@x.org, smarthost: "127.0.0.1:2525", require_tls: false}}
  data-team: {webhook: {url: "http://127.0.0.1:9095/webhook"}}
  developer: {webhook: {url: "http://127.0.0.1:9999/dev"}}
  pager: {webhook: {url: "http://127.0.0.1:9999/pager"}}
routes:
  P1: [oncall, lead]
  P2: {receivers: [data-team], repeat_interval: 2h}
  P3: {receivers: [developer], active_time_intervals: [business-hours], mute_time_intervals: [christmas]}
  critical: [pager]
  default: [tocsin]
time_intervals:
  business-hours: {weekdays: [monday:friday], times: [{start_time: "09:00", end_time: "18:00"}],
                   location: Europe/Paris}
  christmas: [{months: [december], days_of_month: ["24:26"]}, {days_of_month: ["-1"], months: [december]}]
"""
LABEL_SETS = [
    {},
    {"priority": "P1"},
    {"priority": "P1", "severity": "critical"},
    {"priority": "P2", "severity": "warning"},
    {"priority": "P3"},
    {"severity": "critical"},
    {"severity": "warning", "alertname": "X"},
    {"priority": "P4"},
]


def _amtool(config: Path, labels: dict[str, str]) -> list[str]:
    args = [f"{k}={v}" for k, v in labels.items()] or ["nothing="]
    out = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().split(",")


@pytest.mark.integration
@pytest.mark.parametrize(
    "source", [*EXAMPLES, "escalation"], ids=lambda p: getattr(p, "parent", Path(p)).name
)
def test_the_walk_agrees_with_amtool(tmp_path: Path, source: Path | str) -> None:
    if source == "escalation":
        source = tmp_path / "tocsin.yaml"
        source.write_text(ESCALATION)
    spec = load_spec(source)
    bundle = compile_spec(spec, env={"SLACK_URL": "http://x/", "WEBHOOK_URL": "http://x/"})
    bundle.write(tmp_path / "out")
    tree = spec_route_tree(spec)
    for labels in LABEL_SETS:
        ours = [r.receiver for r in tree.routes_for(labels)]
        assert ours == _amtool(tmp_path / "out" / "alertmanager" / "alertmanager.yml", labels), labels


def test_escalation_matrix_of_seed_003(tmp_path: Path) -> None:
    (tmp_path / "tocsin.yaml").write_text(ESCALATION)
    tree = spec_route_tree(load_spec(tmp_path / "tocsin.yaml"))
    p1 = tree.routes_for({"priority": "P1"})
    assert [(r.receiver, r.timings["repeat_interval"], r.label) for r in p1] == [
        ("oncall", "15m", 'priority="P1"'),
        ("lead", "15m", 'priority="P1"'),
    ]
    assert [r.timings["repeat_interval"] for r in tree.routes_for({"priority": "P2"})] == ["2h"]
    # P3 waits for business hours in Paris: Wednesday 2 Dec 2026 at 08:30 UTC is 09:30 there
    wednesday = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
    (p3,) = tree.deliveries({"priority": "P3"}, wednesday)
    assert p3.held == ""
    evening = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # 18:30 in Paris: end_time is exclusive
    (late,) = tree.deliveries({"priority": "P3"}, evening)
    assert late.held == "outside business-hours"
    assert late.until == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # Thursday 09:00 Paris
    friday_night = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    (weekend,) = tree.deliveries({"priority": "P3"}, friday_night)
    assert weekend.until == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday
    christmas = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    assert tree.deliveries({"priority": "P3"}, christmas)[0].held == "muted by christmas"
    new_years_eve = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)  # days_of_month -1: the last day
    assert tree.deliveries({"priority": "P3"}, new_years_eve)[0].held == "muted by christmas"


def test_time_interval_fields() -> None:
    intervals = TimeIntervals(
        {
            "time_intervals": [
                {"name": "q1", "time_intervals": [{"months": ["1:3"], "years": ["2026:2027"]}]},
                {
                    "name": "night",
                    "time_intervals": [{"times": [{"start_time": "22:00", "end_time": "24:00"}]}],
                },
                {"name": "sundays", "time_intervals": [{"weekdays": ["sunday"]}]},
            ]
        }
    )
    assert intervals.matches("q1", datetime(2026, 2, 10, tzinfo=UTC))
    assert not intervals.matches("q1", datetime(2028, 2, 10, tzinfo=UTC))
    assert intervals.matches("night", datetime(2026, 2, 10, 23, 59, tzinfo=UTC))
    assert not intervals.matches("night", datetime(2026, 2, 10, 21, 59, tzinfo=UTC))
    assert intervals.matches("sundays", datetime(2026, 12, 6, 12, tzinfo=UTC))
    assert not intervals.matches("sundays", datetime(2026, 12, 7, 12, tzinfo=UTC))
    assert not intervals.matches("undefined", datetime(2026, 12, 7, 12, tzinfo=UTC))


def test_matchers_continue_and_regexes() -> None:
    tree = route_tree(
        {
            "route": {
                "receiver": "root",
                "routes": [
                    {"matchers": ['team=~"db|web"'], "receiver": "a", "continue": True},
                    {"matchers": ['team!="web"', 'env="prod"'], "receiver": "b"},
                    {"matchers": ['team="web"'], "receiver": "c"},
                ],
            },
            "receivers": [{"name": n} for n in ("root", "a", "b", "c")],
        }
    )
    assert [r.receiver for r in tree.routes_for({"team": "db", "env": "prod"})] == ["a", "b"]
    assert [r.receiver for r in tree.routes_for({"team": "web"})] == ["a", "c"]
    assert [r.receiver for r in tree.routes_for({"team": "dbx"})] == ["root"]  # regexes are anchored
    assert [r.receiver for r in tree.routes_for({"env": "prod"})] == ["b"]  # absent label = ""


def test_cli_table_labels_and_bad_input(tmp_path: Path) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(ESCALATION)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tocsin", "routes", str(spec), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
        )

    out = run("--labels", "priority=P3", "--at", "2026-12-02T17:30:00Z")
    assert out.returncode == 0, out.stderr
    assert "business-hours: monday:friday 09:00-18:00 (Europe/Paris)" in out.stdout
    assert (
        'priority=P3 -> developer via priority="P3" (repeat 4h, held now (outside business-hours)'
        in out.stdout
    )
    payload = json.loads(run("--json", "--labels", "priority=P1").stdout)
    assert [d["receiver"] for d in payload["match"]["deliveries"]] == ["oncall", "lead"]
    assert [r["route"] for r in payload["routes"]] == [
        'priority="P1"',
        'priority="P2"',
        'priority="P3"',
        'severity="critical"',
        "(anything else)",
    ]
    bad = run("--labels", "priority")
    assert bad.returncode == 2 and "'priority' is not a label" in bad.stderr
    with pytest.raises(ValueError, match="not a label"):
        parse_labels(["=x"])
