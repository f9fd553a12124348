"""``tocsin doctor`` names each induced problem of a running stack of real binaries, with its fix:
a target on a wrong port, a metrics path answering 404, a rule failing at every evaluation, a receiver
URL that refuses connections, an Alertmanager that cannot reach its SMTP server, a state dir under the
free-space threshold; and a nearly full small tmpfs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_ports, wait_for

pytestmark = pytest.mark.integration

SPEC = """version: tocsin/v1
app: doctored
stack:
  state_dir: state
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{port: {node_exporter}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false}}
services:
  wrong-port: {{targets: ["127.0.0.1:{refused}"], down: {{enabled: false}}}}
  wrong-path: {{targets: ["127.0.0.1:{receiver}"], metrics_path: /nope, down: {{enabled: false}}}}
alerts:
  - name: QueueTooLong
    expr: max(queue_length)
    critical: "> 10"
    for: 1s
    priority: P1
  - name: BrokenJoin
    expr: up * on() up
    severity: warning
receivers:
  mail-down:
    email: {{to: oncall@example.org, from: tocsin@example.org, smarthost: "127.0.0.1:{dead_smtp}",
             require_tls: false}}
  hook-down: {{webhook: {{url: "http://127.0.0.1:{dead_hook}/alerts"}}}}
routes:
  P1: [tocsin, mail-down, hook-down]
  P2: [tocsin]
"""


def _tocsin(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "250"},
    )


@pytest.fixture
def doctored(tmp_path: Path) -> Any:
    names = ["prometheus", "alertmanager", "cluster", "pushgateway", "node_exporter", "receiver", "smtp"]
    names += ["refused", "dead_smtp", "dead_hook"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    (tmp_path / "tocsin.yaml").write_text(SPEC.format(**ports))
    up = _tocsin(tmp_path, "up", "--detach", "--profile", "fast")
    assert up.returncode == 0, up.stdout + up.stderr
    yield tmp_path, ports
    _tocsin(tmp_path, "down", "--timeout", "5")


def _findings(cwd: Path, *args: str) -> tuple[int, list[dict[str, str]]]:
    out = _tocsin(cwd, "doctor", "--json", *args)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)["findings"]


def _one(findings: list[dict[str, str]], area: str, subject: str) -> dict[str, str]:
    errors = [f for f in findings if f["severity"] == "error"]
    found = [f for f in errors if f["area"] == area and subject in f["subject"]]
    assert len(found) == 1, (area, subject, [f for f in findings if f["severity"] != "ok"])
    return found[0]


def test_doctor_names_each_induced_problem(doctored: Any) -> None:
    cwd, ports = doctored
    am = f"http://127.0.0.1:{ports['alertmanager']}"
    httpx.put(f"http://127.0.0.1:{ports['pushgateway']}/metrics/job/w", content="queue_length 42\n")

    def email_failed() -> bool:
        text = httpx.get(f"{am}/metrics", timeout=5).text
        failed = 'alertmanager_notifications_failed_total{integration="email"}'
        return any(line.startswith(failed) and not line.endswith(" 0") for line in text.splitlines())

    wait_for(email_failed, timeout=120, interval=0.5, what="Alertmanager to fail sending the mail")
    prom = f"http://127.0.0.1:{ports['prometheus']}"

    def broken_rule_evaluated() -> bool:
        groups = httpx.get(f"{prom}/api/v1/rules", timeout=5).json()["data"]["groups"]
        return any(r.get("health") == "err" for g in groups for r in g["rules"])

    wait_for(broken_rule_evaluated, timeout=60, what="the broken rule to be evaluated")
    code, findings = _findings(cwd, "--min-free", "100%")
    assert code == 1

    wrong_port = _one(findings, "targets", f"wrong-port http://127.0.0.1:{ports['refused']}/metrics")
    assert "connection refused" in wrong_port["problem"]
    assert "fix the port in services.wrong-port.targets" in wrong_port["fix"]
    wrong_path = _one(findings, "targets", "wrong-path")
    assert "404 on the metrics path /nope" in wrong_path["problem"]
    assert "services.wrong-path.metrics_path" in wrong_path["fix"]
    rule = _one(findings, "rules", "BrokenJoin")
    assert "fails at every evaluation" in rule["problem"] and "many-to-many" in rule["problem"]
    assert "tocsin.yaml:" in rule["fix"]
    hook = _one(findings, "receivers", "hook-down (webhook)")
    assert f"http://127.0.0.1:{ports['dead_hook']}/alerts refuses connections" in hook["problem"]
    assert "receivers.hook-down.webhook.url" in hook["fix"]
    smtp = _one(findings, "receivers", "mail-down (email)")
    assert f"127.0.0.1:{ports['dead_smtp']} refuses connections" in smtp["problem"]
    sent = _one(findings, "notifications", "mail-down (email)")
    assert "failed to notify mail-down by email" in sent["problem"]
    assert f"could not connect to 127.0.0.1:{ports['dead_smtp']}: connection refused" in sent["problem"]
    disk = _one(findings, "disk", "state")
    assert "nearly full" in disk["problem"] and "under the 100% threshold" in disk["problem"]
    # nothing else is wrong, and nothing the doctor checks broke
    errors = {(f["area"], f["subject"].split(" ")[0]) for f in findings if f["severity"] == "error"}
    expected = {("targets", "wrong-port"), ("targets", "wrong-path"), ("rules", "BrokenJoin")}
    expected |= {("receivers", "hook-down"), ("receivers", "mail-down"), ("notifications", "mail-down")}
    expected |= {("disk", str(cwd / "state"))}
    assert errors - {("notifications", "hook-down")} == expected  # the webhook may have failed by now too
    assert not [f for f in findings if f["area"] == "doctor"]

    code, findings = _findings(cwd)  # default threshold: the disk is fine
    assert not [f for f in findings if f["area"] == "disk" and f["severity"] == "error"]
    table = _tocsin(cwd, "doctor")
    assert table.returncode == 1 and "errors," in table.stdout and "Traceback" not in table.stderr


def test_a_nearly_full_small_tmpfs(tmp_path: Path) -> None:
    """The state dir on a 4 MiB tmpfs filled to 97 %: found with the default threshold."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        state = mount / "state"
        state.mkdir()
        (state / "filler").write_bytes(b"\0" * int(3.9 * 2**20))
        (tmp_path / "tocsin.yaml").write_text(
            f"version: tocsin/v1\napp: full\nstack: {{state_dir: {state}, console: {{enabled: false}}}}\n"
        )
        code, findings = _findings(tmp_path)
        disk = _one(findings, "disk", str(state))
        assert "nearly full" in disk["problem"] and "under the 10% threshold" in disk["problem"]
        assert code == 1
    finally:
        subprocess.run(["umount", str(mount)], check=True)
