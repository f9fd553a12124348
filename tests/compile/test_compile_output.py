"""compile_spec output, read back as YAML: structure, numbers, routing (no binaries needed)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tocsin.compile import compile_spec
from tocsin.compile.slo import BURN_WINDOWS
from tocsin.errors import SpecError
from tocsin.spec import Spec, load_spec


def _yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


def _rules(bundle_files: dict[str, str], name: str) -> list[dict[str, Any]]:
    groups = _yaml(bundle_files[f"prometheus/rules/{name}.yml"])["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_prometheus_yml(shop: Spec, env: dict[str, str]) -> None:
    files = compile_spec(shop, env=env).files
    config = _yaml(files["prometheus/prometheus.yml"])
    assert config["global"]["external_labels"] == {"app": "shop", "environment": "production"}
    assert config["rule_files"] == ["rules/alerts.yml", "rules/slos.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert list(jobs) == ["prometheus", "pushgateway", "node", "web", "worker"]
    assert jobs["pushgateway"]["honor_labels"] is True
    assert jobs["web"]["static_configs"][0]["labels"] == {"service": "web", "team": "storefront"}
    worker = jobs["worker"]
    assert Path(worker["file_sd_configs"][0]["files"][0]).is_absolute()
    assert worker["basic_auth"]["password_file"] == str(
        Path(shop.source).parent / "secrets" / "scrape_password"
    )
    assert config["remote_write"][0]["name"] == "mimir"


def test_ha_pair(shop: Spec, env: dict[str, str]) -> None:
    files = compile_spec(shop, ha=True, env=env).files
    assert "prometheus/prometheus.yml" not in files
    configs = [_yaml(files[f"prometheus/prometheus-{i}.yml"]) for i in (0, 1)]
    assert [c["global"]["external_labels"]["replica"] for c in configs] == ["0", "1"]
    for config in configs:
        targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
        assert targets == ["127.0.0.1:9093", "127.0.0.1:9193"]
        assert config["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": "replica"}]
    assert [c["scrape_configs"][0]["static_configs"][0]["targets"] for c in configs] == [
        ["127.0.0.1:9090"],
        ["127.0.0.1:9190"],
    ]


def test_one_definition_two_levels(shop: Spec, env: dict[str, str]) -> None:
    rules = _rules(compile_spec(shop, env=env).files, "alerts")
    queue = [r for r in rules if r.get("alert") == "QueueFull" or r.get("record") == "alert:QueueFull:value"]
    assert queue[0] == {"record": "alert:QueueFull:value", "expr": "max(shop_queue_size)"}
    assert [(r["expr"], r["labels"]["severity"]) for r in queue[1:]] == [
        ("alert:QueueFull:value > 20", "critical"),
        ("alert:QueueFull:value > 10", "warning"),
    ]
    assert queue[1]["annotations"]["dashboard_url"] == "http://127.0.0.1:9096/dashboards/shop#panel-0"
    low = [r for r in rules if r.get("alert") == "LowConfidence"]
    assert [r["expr"] for r in low] == ["alert:LowConfidence:value <= 80", "alert:LowConfidence:value < 90"]


def test_target_down_per_service(shop: Spec, env: dict[str, str]) -> None:
    down = [r for r in _rules(compile_spec(shop, env=env).files, "alerts") if r.get("alert") == "TargetDown"]
    assert [(r["expr"], r["for"], r["labels"]["priority"]) for r in down] == [
        ('up{job="web"} == 0', "2m", "P2"),
        ('up{job="worker"} == 0', "5m", "P3"),
    ]


@pytest.mark.parametrize(
    ("objective", "thresholds"),
    [
        ("99.9", ["0.0144", "0.006", "0.003", "0.001"]),
        ("99.5", ["0.072", "0.03", "0.015", "0.005"]),
        ("99", ["0.144", "0.06", "0.03", "0.01"]),
        ("95", ["0.72", "0.3", "0.15", "0.05"]),
    ],
)
def test_burn_rate_windows_and_factors(
    write_spec: Callable[[str], Path],
    shop_text: str,
    env: dict[str, str],
    objective: str,
    thresholds: list[str],
) -> None:
    spec = load_spec(write_spec(shop_text.replace("objective: 99.9", f"objective: {objective}")))
    files = compile_spec(spec, env=env).files
    rules = _rules(files, "slos")
    records = [r["record"] for r in rules if "record" in r]
    assert records == [f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")]
    alerts = [r for r in rules if "alert" in r]
    published = [
        ("1h", "5m", "14.4", "critical"),
        ("6h", "30m", "6", "critical"),
        ("1d", "2h", "3", "warning"),
    ]
    published.append(("3d", "6h", "1", "warning"))
    assert [(str(p.long), p.short, str(p.factor), p.severity) for p in BURN_WINDOWS] == published
    for alert, (long, short, _factor, severity), threshold in zip(alerts, published, thresholds, strict=True):
        assert alert["expr"] == (
            f'slo:sli_error:ratio_rate{long}{{slo="checkout"}} > {threshold}'
            f' and slo:sli_error:ratio_rate{short}{{slo="checkout"}} > {threshold}'
        )
        assert alert["labels"]["severity"] == severity
    every_number = re.findall(
        r"\d+\.\d+", files["prometheus/rules/slos.yml"] + files["prometheus/tests/slos_test.yml"]
    )
    assert all(len(n.split(".")[1]) <= 6 for n in every_number), [n for n in every_number if len(n) > 8]


def test_slo_record_fills_each_window(shop: Spec, env: dict[str, str]) -> None:
    rules = _rules(compile_spec(shop, env=env).files, "slos")
    assert rules[0]["expr"] == (
        '(sum(rate(http_requests_total{route="/checkout",status=~"5.."}[5m])))'
        ' / (sum(rate(http_requests_total{route="/checkout"}[5m])))'
    )
    assert rules[0]["labels"] == {"slo": "checkout", "service": "web"}


def test_alertmanager_routes_receivers_inhibitions(shop: Spec, env: dict[str, str]) -> None:
    am = _yaml(compile_spec(shop, env=env).files["alertmanager/alertmanager.yml"])
    route = am["route"]
    assert route["receiver"] == "tocsin"
    p1, p2, warning = route["routes"]
    assert p1["matchers"] == ['priority="P1"'] and p1["repeat_interval"] == "15m"
    assert p1["routes"] == [{"receiver": "oncall", "continue": True}, {"receiver": "chat"}]
    assert (p2["receiver"], p2["repeat_interval"]) == ("chat", "2h")
    assert (warning["matchers"], warning["receiver"]) == (['severity="warning"'], "hook")
    receivers = {r["name"]: r for r in am["receivers"]}
    email = receivers["oncall"]["email_configs"][0]
    assert email["to"] == "oncall@example.org, lead@example.org"
    assert email["auth_password_file"].endswith("/secrets/smtp_password") and "auth_password" not in email
    assert receivers["chat"]["slack_configs"][0]["api_url_file"].endswith("/secrets/slack_url")
    assert receivers["hook"]["webhook_configs"][0]["url"] == env["SHOP_HOOK_URL"]
    assert receivers["tocsin"]["webhook_configs"][0]["url"] == "http://127.0.0.1:9095/webhook"
    assert am["inhibit_rules"][0]["source_matchers"] == ['severity="critical"']
    assert am["inhibit_rules"][1]["equal"] == ["slo"]


def test_unset_url_env_points_at_the_spec(shop: Spec, env: dict[str, str]) -> None:
    with pytest.raises(SpecError) as err:
        compile_spec(shop, env={})
    assert err.value.lines() == [
        f"tocsin: {shop.source}:43:29: $SHOP_HOOK_URL is not set (export it, then compile)"
    ]


def test_fast_profile_output(write_spec: Callable[[str], Path], shop_text: str, env: dict[str, str]) -> None:
    spec = load_spec(write_spec(shop_text), profile="fast")
    files = compile_spec(spec, env=env).files
    config = _yaml(files["prometheus/prometheus.yml"])["global"]
    assert (config["scrape_interval"], config["evaluation_interval"]) == ("1s", "1s")
    assert _yaml(files["alertmanager/alertmanager.yml"])["route"]["group_wait"] == "0s"
    assert {r.get("for") for r in _rules(files, "alerts") if "alert" in r} == {"2s"}


def test_write_is_relocatable(shop: Spec, tmp_path: Path, env: dict[str, str]) -> None:
    bundle = compile_spec(shop, env=env)
    bundle.write(tmp_path / "a" / "b")
    root = tmp_path / "a" / "b"
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert written == sorted([*bundle.files, ".tocsin-bundle"])
    assert not list((tmp_path / "a" / "b").rglob("*.tmp"))


def test_unit_test_rule_copies_match_the_rule_files(shop: Spec, env: dict[str, str]) -> None:
    files = compile_spec(shop, env=env).files
    groups = _yaml(files["prometheus/rules/alerts.yml"])["groups"]
    copies = [
        _yaml(text)["groups"]
        for name, text in files.items()
        if name.startswith("prometheus/tests/units/alerts")
    ]
    by_name = sorted([copy[0] for copy in copies], key=lambda g: g["name"])
    # each copy leaves out the recording rules its tests feed directly (alert:<Name>:value)
    fed = [{**g, "rules": [r for r in g["rules"] if "record" not in r]} for g in groups]
    assert by_name == sorted(fed, key=lambda g: g["name"])
    for name in ("web", "worker", "_app"):
        test = _yaml(files[f"prometheus/tests/alerts-{name}_test.yml"])
        assert test["rule_files"] == [f"units/alerts-{name}.yml"]


def test_inhibition_keeps_grouping_labels_apart(shop: Spec, env: dict[str, str]) -> None:
    am = _yaml(compile_spec(shop, env=env).files["alertmanager/alertmanager.yml"])
    assert am["inhibit_rules"][0]["equal"] == ["alertname", "service", "slo", "job", "instance"]
    grouped = shop.model_copy(
        update={
            "alerts": [
                *shop.alerts[:1],
                shop.alerts[0].model_copy(
                    update={"name": "PerQueue", "expr": "max by (queue) (shop_queue_size)"}
                ),
            ]
        }
    )
    am = _yaml(compile_spec(grouped, env=env).files["alertmanager/alertmanager.yml"])
    assert am["inhibit_rules"][0]["equal"][-1] == "queue"


def test_rewrite_removes_files_that_went_away(shop: Spec, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("not tocsin's", encoding="utf-8")
    compile_spec(shop, env=env).write(out)
    assert (out / "prometheus" / "tests" / "alerts-worker_test.yml").is_file()
    without_worker = shop.model_copy(
        update={
            "services": {"web": shop.services["web"]},
            "alerts": [a for a in shop.alerts if a.service != "worker"],
        }
    )
    compile_spec(without_worker, env=env).write(out)
    assert not (out / "prometheus" / "tests" / "alerts-worker_test.yml").exists()
    assert (out / "prometheus" / "tests" / "alerts-web_test.yml").is_file()
    assert (out / "mine.txt").read_text(encoding="utf-8") == "not tocsin's"
    written = (out / ".tocsin-bundle").read_text(encoding="utf-8").splitlines()
    assert written == sorted(compile_spec(without_worker, env=env).files)


def test_slack_says_who_posts(
    write_spec: Callable[[str], Path],
    shop_text: str,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seed 000's Slack webhook posts as "OCR Monitor" with :robot_face:; amtool takes it."""
    chat = 'chat: {slack: {api_url_file: secrets/slack_url, channel: "#shop"'
    assert chat in shop_text
    path = write_spec(shop_text.replace(chat, chat + ', username: OCR Monitor, icon_emoji: ":robot_face:"'))
    am = _yaml(compile_spec(load_spec(path), env=env).files["alertmanager/alertmanager.yml"])
    slack = {r["name"]: r for r in am["receivers"]}["chat"]["slack_configs"][0]
    assert (slack["username"], slack["icon_emoji"], slack["channel"]) == (
        "OCR Monitor",
        ":robot_face:",
        "#shop",
    )
    assert "icon_url" not in slack
    from tocsin.cli import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["check", str(path)]) == 0, capsys.readouterr().err
    assert "amtool pass" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (', icon_emoji: "robot_face"', "icon_emoji"),
        (', icon_emoji: ":robot_face:", icon_url: "https://example.org/ocr.png"', "one icon"),
        (", username: ''", "username"),
    ],
)
def test_bad_slack_identity_is_an_error_at_its_line(
    write_spec: Callable[[str], Path], shop_text: str, extra: str, message: str
) -> None:
    chat = 'chat: {slack: {api_url_file: secrets/slack_url, channel: "#shop"'
    path = write_spec(shop_text.replace(chat, chat + extra))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "chat:" in text)
    assert any(f":{line}:" in problem and message in problem for problem in err.value.lines()), (
        err.value.lines()
    )
