"""Secrets (issue 10 item 13): from the environment to 0600 files, never inline, never world-readable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_ports, wait_for

from tocsin.compile import compile_spec
from tocsin.spec import load_spec
from tocsin.stack.secrets import write_secrets

SPEC = """version: tocsin/v1
app: secrettest
stack:
  state_dir: state
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{enabled: false, port: {node_exporter}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false, port: {console}}}
alerts:
  - name: QueueTooLong
    expr: max(queue_length)
    critical: "> 10"
    for: 1s
    priority: P1
    summary: "queue is {{{{ $value }}}} long"
receivers:
  mail:
    email:
      to: oncall@example.org
      from: tocsin@example.org
      smarthost: "127.0.0.1:{smtp}"
      require_tls: false
      auth_username: alerts
      auth_password_env: TOCSIN_TEST_SMTP_PASSWORD
  chat:
    slack: {{api_url_env: TOCSIN_TEST_SLACK_URL}}
  hook:
    webhook: {{url_env: TOCSIN_TEST_HOOK_URL}}
routes:
  P1: [mail, chat, hook]
"""
NAMES = [
    "prometheus",
    "alertmanager",
    "cluster",
    "pushgateway",
    "node_exporter",
    "receiver",
    "smtp",
    "console",
]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _project(tmp_path: Path) -> tuple[Path, dict[str, int], dict[str, str]]:
    ports = dict(zip(NAMES, free_ports(len(NAMES)), strict=True))
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(SPEC.format(**ports))
    receiver = f"http://127.0.0.1:{ports['receiver']}"
    env = {
        "TOCSIN_TEST_SMTP_PASSWORD": "pa55-Secret-word",
        "TOCSIN_TEST_SLACK_URL": f"{receiver}/slack/T0/B0/slack-TOKEN-value",
        "TOCSIN_TEST_HOOK_URL": f"{receiver}/webhook?token=hook-TOKEN-value",
    }
    return spec, ports, env


def test_env_secrets_compile_to_files_in_the_state_dir(tmp_path: Path) -> None:
    spec_path, _, env = _project(tmp_path)
    spec = load_spec(spec_path)
    bundle = compile_spec(spec, env=env, secrets_dir=tmp_path / "s")
    config = bundle.files["alertmanager/alertmanager.yml"]
    assert f"auth_password_file: {tmp_path / 's' / 'receivers-mail-email-auth-password'}" in config
    assert f"api_url_file: {tmp_path / 's' / 'receivers-chat-slack-api-url'}" in config
    every_file = "".join(bundle.files.values())
    assert "pa55-Secret-word" not in every_file and "slack-TOKEN-value" not in every_file
    # the webhook URL has no file form in Alertmanager 0.25: inline, so the file is private
    assert "hook-TOKEN-value" in config and bundle.private == {"alertmanager/alertmanager.yml"}
    out = tmp_path / "out"
    bundle.write(out)
    assert _mode(out / "alertmanager" / "alertmanager.yml") == 0o600
    assert _mode(out / "prometheus" / "prometheus.yml") == 0o644


def test_write_secrets_is_private_and_drops_what_the_spec_no_longer_names(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "secrets"
    write_secrets(directory, {"a": "1", "b": "2"})
    write_secrets(directory, {"a": "3"})
    assert sorted(p.name for p in directory.iterdir()) == ["a"]
    assert (directory / "a").read_text() == "3"  # exactly the value: no newline for Alertmanager to keep
    assert _mode(directory / "a") == 0o600 and _mode(directory) == 0o700 and _mode(directory.parent) == 0o700


def _tocsin(spec: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        cwd=spec.parent,
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **env},
    )


@pytest.mark.integration
def test_up_writes_env_secrets_for_alertmanager_and_keeps_the_state_dir_private(tmp_path: Path) -> None:
    spec, ports, env = _project(tmp_path)
    missing = _tocsin(spec, "up", "--detach", env={k: v for k, v in env.items() if "SLACK" not in k})
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"{spec}:" in missing.stderr and "$TOCSIN_TEST_SLACK_URL is not set" in missing.stderr

    up = _tocsin(spec, "up", "--profile", "fast", "--detach", env=env)
    assert up.returncode == 0, up.stderr
    try:
        state = tmp_path / "state"
        assert _mode(state) == 0o700
        secrets = state / "secrets"
        assert (secrets / "receivers-mail-email-auth-password").read_text() == "pa55-Secret-word"
        assert all(_mode(p) == 0o600 for p in secrets.iterdir())
        config = (state / "config" / "current" / "alertmanager" / "alertmanager.yml").resolve()
        assert _mode(config) == 0o600 and "pa55-Secret-word" not in config.read_text()
        receiver = f"http://127.0.0.1:{ports['receiver']}"
        push = f"http://127.0.0.1:{ports['pushgateway']}/metrics/job/queue"
        httpx.put(push, content="queue_length 50\n").raise_for_status()
        # Alertmanager read the Slack URL from the file tocsin up wrote from the environment
        slack = wait_for(lambda: httpx.get(f"{receiver}/api/v1/slack").json(), timeout=30, what="slack")
        assert "QueueTooLong" in slack[0]["text"]
        assert "slack-TOKEN-value" not in httpx.get(f"{receiver}/api/v1/slack").text
        wait_for(lambda: httpx.get(f"{receiver}/api/v1/mails").json(), timeout=10, what="mail")
        wait_for(lambda: httpx.get(f"{receiver}/api/v1/deliveries").json(), timeout=10, what="webhook")
        # documented in docs/stack.md: the status API shows the inline webhook URL, not the file secrets
        status = httpx.get(f"http://127.0.0.1:{ports['alertmanager']}/api/v2/status").text
        assert "hook-TOKEN-value" in status
        assert "pa55-Secret-word" not in status and "slack-TOKEN-value" not in status
    finally:
        assert _tocsin(spec, "down", env=env).returncode == 0
