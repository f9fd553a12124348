"""``tocsin test-notify`` through a running stack of real binaries: delivery confirmed at the receiver's
SMTP sink, its Slack-compatible sink and its webhook (read back from its history), at a webhook elsewhere
(Alertmanager's counters), and a failure naming the receiver when that webhook is down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.conftest import free_ports

pytestmark = pytest.mark.integration

SPEC = """version: tocsin/v1
app: notified
stack:
  state_dir: state
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{enabled: false, port: {node_exporter}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false}}
receivers:
  mail: {{email: {{to: oncall@x.org, from: t@x.org, smarthost: "127.0.0.1:{smtp}", require_tls: false}}}}
  chat: {{slack: {{api_url_file: slack-url}}}}
  pager: {{webhook: {{url: "http://127.0.0.1:{pager}/hook"}}}}
routes:
  P1: [tocsin, mail, chat]
  P2: [pager]
"""


class _Pager(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    names = ["prometheus", "alertmanager", "cluster", "pushgateway", "node_exporter", "receiver", "smtp"]
    names.append("pager")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    (tmp_path / "slack-url").write_text(f"http://127.0.0.1:{ports['receiver']}/slack/T1/B1\n")
    (tmp_path / "tocsin.yaml").write_text(SPEC.format(**ports))
    up = _tocsin(tmp_path, "up", "--detach", "--profile", "fast")
    assert up.returncode == 0, up.stdout + up.stderr
    yield tmp_path, ports
    _tocsin(tmp_path, "down", "--timeout", "5")


def _tocsin(cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}
    argv = [sys.executable, "-m", "tocsin", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_local_sinks_are_read_back(stack: tuple[Path, dict[str, int]]) -> None:
    cwd, _ = stack
    out = _tocsin(cwd, "test-notify", "--priority", "P1", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    (test,) = json.loads(out.stdout)["tests"]
    got = {(c["receiver"], c["kind"], c["via"], c["status"]) for c in test["confirmations"]}
    assert got == {
        ("tocsin", "webhook", "receiver history", "delivered"),
        ("mail", "email", "receiver history", "delivered"),
        ("chat", "slack", "receiver history", "delivered"),
    }
    table = _tocsin(cwd, "test-notify", "--receiver", "mail")
    assert table.returncode == 0 and "delivered to all 3 receivers" in table.stdout, table.stdout


def test_a_remote_webhook_is_confirmed_by_alertmanager_then_named_when_down(
    stack: tuple[Path, dict[str, int]],
) -> None:
    cwd, ports = stack
    server = ThreadingHTTPServer(("127.0.0.1", ports["pager"]), _Pager)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = _tocsin(cwd, "test-notify", "--receiver", "pager", "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        (confirmation,) = json.loads(out.stdout)["tests"][0]["confirmations"]
        assert confirmation["via"] == "Alertmanager metrics" and confirmation["status"] == "delivered"
        assert any(b"TocsinTestNotify_" in body for body in _Pager.received)
    finally:
        server.shutdown()
        server.server_close()
    down = _tocsin(cwd, "test-notify", "--receiver", "pager")
    assert down.returncode == 1, down.stdout + down.stderr
    assert "not delivered: pager (webhook: failed)" in down.stdout
    assert f"http://127.0.0.1:{ports['pager']}/hook refuses connections" in down.stdout
    every = _tocsin(cwd, "test-notify", "--json")  # every route: P1's three are fine, P2's pager is not
    assert every.returncode == 1
    assert json.loads(every.stdout)["failed"] == ["pager"]


def test_usage_errors(stack: tuple[Path, dict[str, int]]) -> None:
    cwd, _ = stack
    unknown = _tocsin(cwd, "test-notify", "--receiver", "nobody")
    assert unknown.returncode == 2 and "no receiver 'nobody'" in unknown.stderr
    both = _tocsin(cwd, "test-notify", "--receiver", "mail", "--priority", "P1")
    assert both.returncode == 2
