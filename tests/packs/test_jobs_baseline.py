"""The jobs pack's "slower than usual" alert judges a run against a baseline only once there is one.

Regression (CI, examples/order_archiver): the alert was ``last / avg_over_time(last[7d]) > 2``. On a
fresh Prometheus the "7-day average" was the mean of three runs, one of them slowed by a busy CPU,
and ``ArchiverJobSlowerThanUsual`` fired during the clean period; a 0.05 s run taking 0.12 s made it
fire too. Now the baseline is the median run of the window, the window must hold
``baseline_runs`` (5) earlier runs, and runs shorter than ``baseline_min_duration`` (1m) are never
"slower than usual". These promtool tests feed the real inputs (the pushed last-run gauges, one run
every 15 minutes) to the rules the spec compiles to.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tocsin.compile import compile_spec
from tocsin.errors import SpecError
from tocsin.spec import load_spec

SPEC = """\
version: tocsin/v1
app: archiver
packs:
  - {use: jobs, job: archiver, items: orders, done: archived}
routes:
  default: [tocsin]
"""

ALERT = "ArchiverJobSlowerThanUsual"
RUN_EVERY = 15  # minutes, one sample a minute


def _runs(durations: list[float], tail: int = 30) -> dict[str, str]:
    """Input series for runs of ``durations`` seconds, one every 15 min, the last one standing for
    ``tail`` minutes: the last-run duration and the last-run time as the Pushgateway exposes them."""
    duration, finished = [], []
    for n, seconds in enumerate(durations):
        minutes = tail if n == len(durations) - 1 else RUN_EVERY
        duration.append(f"{seconds:g}x{minutes - 1}")
        finished.append(f"{(n + 1) * RUN_EVERY * 60}x{minutes - 1}")
    return {
        "job_last_duration_seconds": " ".join(duration),
        "job_last_run_timestamp_seconds": " ".join(finished),
    }


def _test(
    name: str, durations: list[float], fires: bool, rule: dict[str, Any], ratio: float
) -> dict[str, Any]:
    pushed = '{job="archiver", instance="pushgateway", job_name="archiver"}'
    series = [{"series": metric + pushed, "values": values} for metric, values in _runs(durations).items()]
    at = f"{(len(durations) - 1) * RUN_EVERY + 5}m"  # 5 min into the last run: past the rule's for: 1m
    labels = {"job_name": "archiver", "severity": "warning", "priority": "P3", "pack": "jobs"}
    value = f"{ratio:g}"
    annotations = {
        key: text.replace("{{ $labels.job_name }}", "archiver").replace("{{ $value | humanize }}", value)
        for key, text in rule["annotations"].items()
    }
    expected = [{"exp_labels": labels, "exp_annotations": annotations}] if fires else []
    return {
        "name": name,
        "interval": "1m",
        "input_series": series,
        "promql_expr_test": [
            {  # the bare ratio is beyond 2 in every case: what the gates add is the whole difference
                "expr": "max by (job_name) (job_last_duration_seconds) / max by (job_name)"
                " (quantile_over_time(0.5, job_last_duration_seconds[7d]))",
                "eval_time": at,
                "exp_samples": [{"labels": '{job_name="archiver"}', "value": ratio}],
            }
        ],
        "alert_rule_test": [{"eval_time": at, "alertname": ALERT, "exp_alerts": expected}],
    }


def _rule(rules_file: Path) -> dict[str, Any]:
    groups = YAML(typ="safe").load(rules_file.read_text(encoding="utf-8"))["groups"]
    return next(r for g in groups for r in g["rules"] if r.get("alert") == ALERT)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="no promtool")
def test_no_alert_before_a_baseline_nor_under_the_floor_and_an_alert_after(tmp_path: Path) -> None:
    (tmp_path / "tocsin.yaml").write_text(SPEC, encoding="utf-8")
    compile_spec(load_spec(tmp_path / "tocsin.yaml")).write(tmp_path / "out")
    rules = tmp_path / "out" / "prometheus" / "rules" / "alerts.yml"
    rule = _rule(rules)
    tests = [
        # three runs of 2 min, then one of 6 min (3x): no baseline yet, no alert
        _test("three runs of history", [120, 120, 120, 360], False, rule, 3),
        # eight runs of 2 min, then one of 6 min: a baseline, and 3x it
        _test("eight runs of history", [120] * 8 + [360], True, rule, 3),
        # a spike in the history does not move the median: 2 min usual, so 5 min is 2.5x
        _test("an outlier in the history", [120, 120, 900, 120, 120, 120, 120, 300], True, rule, 2.5),
        # eight runs of 10 s, then one of 30 s: 3x, but a 30 s run is not slow
        _test("runs under the floor", [10] * 8 + [30], False, rule, 3),
    ]
    test_file = tmp_path / "baseline_test.yml"
    suite = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests}
    test_file.write_text(json.dumps(suite), encoding="utf-8")
    done = subprocess.run(
        ["promtool", "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("baseline_runs: 0", "baseline_runs must be a whole number of 1 or more, not 0"),
        ("baseline_window: a week", "baseline_window must be a duration such as 90s, 15m or 7d"),
        (
            "profiles: {fast: {baseline_min_duration: soon}}",
            "profiles.fast: baseline_min_duration must be a duration",
        ),
        ("profiles: {fast: {baseline: 3}}", "profiles.fast: no parameter 'baseline'"),
        ("profiles: {quick: {baseline_runs: 3}}", "unknown profile 'quick'"),
    ],
)
def test_the_baseline_parameters_are_checked_at_their_pack(tmp_path: Path, given: str, message: str) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(SPEC.replace("done: archived}", f"done: archived, {given}}}"), encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    assert "tocsin.yaml:4:" in str(raised.value)
    assert message in str(raised.value)


def test_a_profile_of_the_pack_lays_its_parameters_over_the_plans(tmp_path: Path) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        SPEC.replace("done: archived}", "done: archived, baseline_runs: 8,\n"
                     "     profiles: {fast: {baseline_min_duration: 1500ms}}}"),
        encoding="utf-8",
    )  # fmt: skip

    def expr(profile: str | None) -> str:
        return next(a.expr for a in load_spec(spec, profile=profile).alerts if a.name == ALERT)

    assert ">= 60 and on (job_name)" in expr(None) and expr(None).endswith(">= 8")
    assert ">= 1.5 and on (job_name)" in expr("fast") and expr("fast").endswith(">= 8")
