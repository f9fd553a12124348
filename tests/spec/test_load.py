"""load_spec: the model, profiles, warnings and positions on valid specs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.errors import SpecError
from tocsin.spec import STARTER_SPEC, Spec, load_spec, spec_warnings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """\
version: tocsin/v1
app: shop
services:
  web: {targets: ["127.0.0.1:8000"], interval: 30s}
alerts:
  - name: QueueFull
    expr: queue_size
    warning: "> 10"
    critical: "> 20"
    for: 5m
    priority: P1
routes:
  P1: {receivers: [tocsin], repeat_interval: 15m}
  default: [tocsin]
"""


def test_defaults_match_the_stack_contract(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, MINIMAL))
    stack = spec.stack
    ports = (stack.prometheus.port, stack.alertmanager.port, stack.pushgateway.port, stack.node_exporter.port)
    assert ports == (9090, 9093, 9091, 9100)
    assert (stack.receiver.port, stack.receiver.smtp_port, stack.console.port) == (9095, 2525, 9096)
    assert (stack.ha.prometheus.port, stack.ha.alertmanager.port) == (9190, 9193)
    assert (stack.alertmanager.cluster_port, stack.ha.alertmanager.cluster_port) == (9094, 9194)
    assert stack.state_dir == ".tocsin"
    assert spec.logs is None
    assert spec.alerts[0].levels()["critical"].value == 20


def test_component_can_be_disabled_keeping_its_port(tmp_path: Path) -> None:
    text = MINIMAL + "stack:\n  ha: {alertmanager: {enabled: false}}\n  node_exporter: {enabled: false}\n"
    spec = load_spec(_write(tmp_path, text))
    assert not spec.stack.node_exporter.enabled
    assert spec.stack.ha.alertmanager.port == 9193


def test_fast_profile_is_built_in(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, MINIMAL), profile="fast")
    assert (spec.scrape.interval, spec.scrape.timeout, spec.scrape.evaluation_interval) == ("1s", "1s", "1s")
    assert spec.services["web"].interval == "1s"
    assert spec.alerts[0].for_ == "2s"
    assert spec.routes.group_wait == "0s"
    assert spec.routes.P1 is not None and spec.routes.P1.repeat_interval == "1m"
    assert spec.services["web"].down.for_ == "2s"
    assert spec.profile == "fast"


def test_default_profile_keeps_the_plan_durations(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, MINIMAL))
    assert spec.alerts[0].for_ == "5m"
    assert spec.scrape.interval == "15s"


def test_spec_profile_overrides_builtin(tmp_path: Path) -> None:
    text = MINIMAL + "profiles:\n  fast: {for: 3s}\n"
    spec = load_spec(_write(tmp_path, text), profile="fast")
    assert spec.alerts[0].for_ == "3s"
    assert spec.scrape.interval == "15s"


def test_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="unknown profile 'slow'"):
        load_spec(_write(tmp_path, MINIMAL), profile="slow")


def test_relative_secret_paths_resolve_against_the_spec(tmp_path: Path) -> None:
    (tmp_path / "slack_url").write_text("https://hooks.slack.com/services/x\n", encoding="utf-8")
    text = MINIMAL.replace("  default: [tocsin]\n", "  default: [team]\n") + (
        "receivers:\n  team: {slack: {api_url_file: slack_url, channel: '#x'}}\n"
    )
    spec = load_spec(_write(tmp_path, text))
    slack = spec.receivers["team"].slack
    assert slack is not None and slack.api_url_file == str(tmp_path / "slack_url")
    warnings = [str(w) for w in spec_warnings(spec)]
    assert any("ends with a newline" in w for w in warnings), warnings


def test_lint_warns_about_short_rate_windows(tmp_path: Path) -> None:
    text = MINIMAL.replace("expr: queue_size", "expr: rate(jobs_total[20s])")
    warnings = [str(w) for w in spec_warnings(load_spec(_write(tmp_path, text)))]
    assert any(":7:11: rate(jobs_total[20s]) spans less than 2 scrape intervals" in w for w in warnings), (
        warnings
    )


def test_starter_spec_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tocsin.yaml"
    assert main(["init", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == STARTER_SPEC
    assert isinstance(load_spec(path), Spec)
    assert main(["init", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_docstring_example_is_a_valid_spec(tmp_path: Path) -> None:
    doc = Spec.__doc__ or ""
    example = doc.split("::\n", 1)[1]
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "kpi.yml").write_text("groups: []\n", encoding="utf-8")
    text = textwrap.dedent(example)
    spec = load_spec(_write(tmp_path, text))
    assert spec.alerts[0].name == "OcrTooSlow"
    assert spec.included_rules == {str(rules / "kpi.yml"): "groups: []\n"}


def test_lint_warns_about_histogram_quantile_without_rate(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "expr: queue_size", "expr: histogram_quantile(0.95, sum by (le) (latency_seconds_bucket))"
    )
    warnings = [str(w) for w in spec_warnings(load_spec(_write(tmp_path, text)))]
    assert any("histogram_quantile() over buckets without rate()" in w for w in warnings), warnings


def test_a_webhook_left_on_the_default_receiver_port_is_a_warning(tmp_path: Path) -> None:
    """The starter's webhook after the stack's ports moved (9095 taken by another stack here)."""
    moved = STARTER_SPEC.replace("scrape:", "stack: {receiver: {port: 19595}}\nscrape:", 1)
    path = _write(tmp_path, moved)
    warnings = [str(w) for w in spec_warnings(load_spec(path))]
    said = "http://127.0.0.1:9095/webhook aims at the receiver's default port 9095, but this stack's"
    assert any(said in w and "(use http://127.0.0.1:19595/webhook)" in w for w in warnings), warnings
    fixed = moved.replace("127.0.0.1:9095/webhook", "127.0.0.1:19595/webhook")
    assert not any("default port" in str(w) for w in spec_warnings(load_spec(_write(tmp_path, fixed))))
    assert not any("default port" in str(w) for w in spec_warnings(load_spec(_write(tmp_path, STARTER_SPEC))))
