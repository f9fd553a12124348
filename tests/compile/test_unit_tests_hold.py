"""Valid specs whose generated promtool tests used to fail ("report it to tocsin"): each class of
alert below compiles to rules and tests that promtool and amtool accept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tocsin.compile import check_bundle, compile_spec
from tocsin.compile._unit_tests import MAX_STEPS, evaluation_interval_for
from tocsin.spec import load_spec

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("promtool") is None or shutil.which("amtool") is None, reason="no promtool"
    ),
]

TRICKY = """\
version: tocsin/v1
app: tricky
labels: {environment: 'prod "eu"'}
services:
  web:
    targets: ["127.0.0.1:8000"]
    labels: {team: 'a "quoted" \\\\ back\\\\slash'}
    down: {for: 3d}
alerts:
  # has a value with no input at all: the recorded series would sit next to the fed one
  - {name: Watchdog, expr: vector(1), severity: warning}
  - {name: Missing, expr: 'absent(up{job="web"})', severity: critical, for: 1m}
  - {name: Defaulted, expr: 'sum(errors_total) or vector(0)', warning: "> 5", for: 5m}
  # templates in labels are expanded by Prometheus: the expected alerts must be too
  - name: Templated
    expr: sum by (level) (log_lines)
    warning: "> 10"
    for: 1m
    labels: {where: '{{ $labels.level }}', how_much: '{{ $value }}', env: '{{ $externalLabels.environment }}'}
  # a long for next to the 15 s evaluation interval: 17,280 evaluations unless the test is coarser
  - {name: SlowBurn, expr: disk_free_ratio, warning: "< 0.1", critical: "< 0.05", for: 3d}
  - {name: Tiny, expr: x, warning: "> 1e-300", for: 1m}
  - {name: Huge, expr: x, warning: "< -1e300", critical: "< -2e+300", for: 1m}
  - {name: Exact, expr: x, warning: "== 3", for: 30s}
  - {name: NotZero, expr: x, critical: "!= 0"}
  - {name: ByReserved, expr: 'max by (severity, alertname, __name__) (y)', warning: "> 1", for: 1m}
slos:
  - name: checkout
    objective: 99.95
    errors: 'sum(rate(http_requests_total{code=~"5.."}[{{window}}])) or vector(0)'
    total: sum(rate(http_requests_total[{{window}}]))
routes:
  default: [tocsin]
"""


def test_every_tricky_alert_is_tested_and_passes(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    spec = load_spec(path)
    bundle = compile_spec(spec)
    bundle.write(tmp_path / "out")
    assert check_bundle(tmp_path / "out", spec=spec) == []
    tests = bundle.paths("prometheus/tests/")
    # SlowBurn's 3d: 15 s x ceil(17,280 / 1,000) = 4m30s between evaluations, in a file of its own
    assert "prometheus/tests/alerts-_app-every-4m30s_test.yml" in tests
    every = "\n".join(bundle.files[p] for p in tests if p.endswith("_test.yml"))
    for alert in ("Watchdog", "Missing", "Defaulted", "Templated", "SlowBurn", "Tiny", "Huge", "Exact"):
        assert f"alertname: {alert}" in every


def test_coarse_evaluation_bounds_the_steps() -> None:
    assert evaluation_interval_for(5 * 60_000, 15_000) == 15_000
    three_days = 3 * 86_400_000
    assert three_days / evaluation_interval_for(three_days, 15_000) <= MAX_STEPS
    assert evaluation_interval_for(three_days, 15_000) % 15_000 == 0


PACK_RANGES = """\
version: tocsin/v1
app: shelf
services:
  web: {{targets: ["127.0.0.1:8000"]}}
packs:
  - {{use: cache, cache: books}}
routes:
  default: [tocsin]
profiles:
  fast: {{extends: fast, ranges: {{5m: {range}}}}}
"""


@pytest.mark.parametrize("window", ["4s", "6s", "7s", "13s", "90s", "5m"])
def test_a_pack_recording_rule_test_holds_whatever_range_a_profile_gives(tmp_path: Path, window: str) -> None:
    # [6s] was sampled every 1.2 s and evaluated at 12 s: promtool got 0.7500000000000001 for the
    # expected 0.75 (rates of 3 and 1 per 1.2 s are not exact floats; promtool compares exactly)
    path = tmp_path / "tocsin.yaml"
    path.write_text(PACK_RANGES.format(range=window), encoding="utf-8")
    spec = load_spec(path, profile="fast")
    bundle = compile_spec(spec)
    bundle.write(tmp_path / "out")
    assert f"[{window}]" in bundle.files["prometheus/rules/packs.yml"]
    assert check_bundle(tmp_path / "out", spec=spec) == []
