"""``tocsin console`` and ``tocsin top`` from the command line: clear errors, a console in the foreground."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_ports, wait_for
from tests.views.conftest import tocsin

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["console", "top"])
def test_a_missing_spec_or_stack_is_a_usage_error(tmp_path: Path, command: str) -> None:
    missing = tocsin(command, str(tmp_path / "nope.yaml"))
    assert (
        missing.returncode == 2
        and "no such spec file" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    nostack = tocsin(command, "--state-dir", str(tmp_path))
    assert nostack.returncode == 2 and "no console model there" in nostack.stderr


def test_half_given_auth_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text("version: tocsin/v1\napp: a\n")
    result = tocsin("console", str(spec), "--username", "ops")
    assert result.returncode == 2 and "password" in result.stderr and "Traceback" not in result.stderr


def test_console_in_the_foreground(tmp_path: Path) -> None:
    prometheus, port = free_ports(2)
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        "version: tocsin/v1\napp: shop\n"
        f"stack: {{prometheus: {{port: {prometheus}}}}}\n"
        "dashboards: [{title: Main, panels: [{title: Up, kind: stat, expr: up}]}]\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tocsin", "console", str(spec), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/-/ready").status_code == 200, timeout=30, what="the console")
        assert "Main" in httpx.get(f"{url}/dashboards").text
        panel = httpx.get(f"{url}/api/dashboards/main").json()["panels"][0]
        assert f"127.0.0.1:{prometheus}" in panel["error"]  # names the Prometheus it could not reach
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/" in out


@pytest.mark.integration
def test_the_bundle_carries_the_model_even_with_the_console_off(tmp_path: Path) -> None:
    """``tocsin top --state-dir`` reads it, whether or not the stack runs a console."""
    names = ("prometheus", "alertmanager", "cluster", "receiver", "smtp")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        "version: tocsin/v1\napp: shop\nstack:\n  state_dir: state\n"
        f"  prometheus: {{port: {ports['prometheus']}}}\n"
        f"  alertmanager: {{port: {ports['alertmanager']}, cluster_port: {ports['cluster']}}}\n"
        f"  receiver: {{port: {ports['receiver']}, smtp_port: {ports['smtp']}}}\n"
        "  pushgateway: {enabled: false}\n  node_exporter: {enabled: false}\n  console: {enabled: false}\n"
        "routes: {default: [tocsin]}\n"
        "dashboards: [{title: Main, panels: [{title: Up, kind: stat, expr: up}]}]\n"
    )
    started = tocsin("up", str(spec), "--detach")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        state = tmp_path / "state"
        assert (state / "config" / "current" / "console" / "model.json").is_file()
        plan = json.loads((state / "run" / "plan.json").read_text())
        assert "console" not in [c["kind"] for c in plan["components"]]
    finally:
        tocsin("down", str(spec))
