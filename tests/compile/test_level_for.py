"""``for:`` per level (seed 002: p95 > 1 s for 10 min is a warning, p95 > 2 s for 5 min critical): each
level's rule waits its own time, the generated promtool test checks each boundary, and promtool agrees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tocsin.compile import check_bundle, compile_spec
from tocsin.errors import SpecError
from tocsin.spec import load_spec

SPEC = """\
version: tocsin/v1
app: levels
alerts:
  - name: SlowPages
    expr: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))
    warning: "> 1"
    critical: "> 2"
    for: {warning: 10m, critical: 5m}
  - {name: Quick, expr: x, warning: "> 1", critical: "> 2", for: {critical: 1m}}
routes:
  default: [tocsin]
"""


def _yaml(text: str):  # type: ignore[no-untyped-def]
    return YAML(typ="safe").load(text)


def _load(tmp_path: Path, text: str = SPEC):  # type: ignore[no-untyped-def]
    path = tmp_path / "tocsin.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def _rules(bundle, name: str) -> list[dict]:  # type: ignore[no-untyped-def]
    groups = _yaml(bundle.files["prometheus/rules/alerts.yml"])["groups"]
    return [r for g in groups for r in g["rules"] if r.get("alert") == name]


def test_each_level_waits_its_own_time(tmp_path: Path) -> None:
    bundle = compile_spec(_load(tmp_path))
    by_level = {r["labels"]["severity"]: r for r in _rules(bundle, "SlowPages")}
    assert by_level["critical"]["for"] == "5m"
    assert by_level["warning"]["for"] == "10m"
    assert "for 10m" in by_level["warning"]["annotations"]["description"]
    quick = {r["labels"]["severity"]: r for r in _rules(bundle, "Quick")}
    assert quick["critical"]["for"] == "1m"
    assert "for" not in quick["warning"]  # a level left out fires at the first bad evaluation


def test_the_generated_test_checks_both_boundaries(tmp_path: Path) -> None:
    bundle = compile_spec(_load(tmp_path))
    docs = [_yaml(bundle.files[p]) for p in bundle.paths("prometheus/tests/") if p.endswith("_test.yml")]
    tests = [g for doc in docs for g in doc["tests"] if g["name"].startswith("SlowPages")]
    checks = {c["eval_time"]: c["exp_alerts"] for t in tests for c in t["alert_rule_test"]}
    # critical alone from 5m on, then warning too from 10m on; each pending one evaluation before
    severities = {t: sorted(a["exp_labels"]["severity"] for a in alerts) for t, alerts in checks.items()}
    assert severities["4m45s"] == []
    assert severities["5m"] == ["critical"]
    assert severities["9m45s"] == ["critical"]
    assert severities["10m"] == ["critical", "warning", "warning"]  # the critical case crosses both


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="no promtool")
def test_promtool_passes_the_per_level_tests(tmp_path: Path) -> None:
    spec = _load(tmp_path)
    bundle = compile_spec(spec)
    bundle.write(tmp_path / "out")
    assert check_bundle(tmp_path / "out", spec=spec) == []


def test_a_for_of_a_missing_level_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = SPEC.replace(
        "for: {critical: 1m}}",
        'for: {critical: 1m}}\n  - {name: Odd, expr: y, warning: "> 1", for: {critical: 1m}}',
    )
    with pytest.raises(SpecError) as raised:
        _load(tmp_path, text)
    assert "for critical given, but the alert has no critical threshold" in str(raised.value)
    assert ":10:" in str(raised.value)


def test_the_fast_profile_still_overrides_every_level(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC, encoding="utf-8")
    bundle = compile_spec(load_spec(path, profile="fast"))
    assert {r["for"] for r in _rules(bundle, "SlowPages")} == {"2s"}
