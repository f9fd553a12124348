"""A project for stack tests: a compiled spec with free ports, and the real CLI run on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil
from tests.conftest import free_ports

from tocsin.stack.state import marked_processes

SPEC = """version: tocsin/v1
app: stacktest
stack:
  state_dir: {state_dir}
  prometheus: {{port: {prometheus}}}
  alertmanager: {{port: {alertmanager}, cluster_port: {cluster0}}}
  pushgateway: {{port: {pushgateway}}}
  node_exporter: {{port: {node_exporter}}}
  receiver: {{port: {receiver}, smtp_port: {smtp}}}
  console: {{enabled: false, port: {console}}}
  ha:
    prometheus: {{port: {ha_prometheus}}}
    alertmanager: {{port: {ha_alertmanager}, cluster_port: {cluster1}}}
alerts:
  - name: QueueTooLong
    expr: max(queue_length)
    critical: "> 10"
    for: {for_}
    priority: P1
    summary: "queue is {{{{ $value }}}} long"
{extra}receivers:
  mail:
    email:
      {{to: oncall@example.org, from: tocsin@example.org, smarthost: "127.0.0.1:{smtp}", require_tls: false}}
  chat:
    slack: {{api_url_file: slack-url}}
routes:
  P1: [tocsin, mail, chat]
services:
  gone: {{targets: ["127.0.0.1:{refused}"], down: {{enabled: false}}}}
  wrong-path: {{targets: ["127.0.0.1:{receiver}"], metrics_path: /nope, down: {{enabled: false}}}}
  not-metrics: {{targets: ["127.0.0.1:{receiver}"], metrics_path: /-/ready, down: {{enabled: false}}}}
"""
NEW_RULE = """  - name: NewRule
    expr: max(queue_length)
    warning: "> 1000"
    for: 5s
    priority: P1
"""


@dataclass
class Project:
    """A spec with free ports in a temporary directory, and the real `tocsin` CLI run on it."""

    dir: Path
    ports: dict[str, int]
    state_dir: str = "state"

    @property
    def spec(self) -> Path:
        return self.dir / "tocsin.yaml"

    @property
    def root(self) -> Path:
        """The state dir (the spec's ``stack.state_dir``, relative to the spec)."""
        return (self.dir / self.state_dir).resolve()

    @property
    def state(self) -> dict[str, object]:
        return json.loads((self.root / "run" / "state.json").read_text())  # type: ignore[no-any-return]

    def write(self, *, for_: str = "2s", extra: str = "") -> None:
        (self.dir / "slack-url").write_text(f"{self.url('receiver')}/slack/T1/B1\n")
        self.spec.write_text(SPEC.format(**self.ports, for_=for_, extra=extra, state_dir=self.state_dir))

    def tocsin(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tocsin", *args],
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            # tables on one line each, as in a wide terminal
            env={**os.environ, **(env or {}), "COLUMNS": "200"},
        )

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def pids(self) -> list[tuple[int, float]]:
        state = self.state
        comps = state["components"].values()  # type: ignore[attr-defined]
        sup = state["supervisor"]
        return [(c["pid"], c["create_time"]) for c in comps] + [(sup["pid"], sup["create_time"])]  # type: ignore[index]

    def pid(self, component: str) -> int:
        return int(self.state["components"][component]["pid"])  # type: ignore[index]

    def leftovers(self) -> list[str]:
        """Every live process started for this state dir (by its environment marker), by name."""
        return [f"{r.name} (pid {r.pid})" for r in marked_processes(self.root)]


def new_project(directory: Path, state_dir: str = "state") -> Project:
    """A project in ``directory`` with every port picked free now, its spec written."""
    names = ["prometheus", "alertmanager", "pushgateway", "node_exporter", "receiver", "smtp", "console"]
    names += ["ha_prometheus", "ha_alertmanager", "cluster0", "cluster1", "refused"]
    proj = Project(directory, dict(zip(names, free_ports(len(names)), strict=True)), state_dir)
    proj.write()
    return proj


def alive(pid: int, create_time: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - create_time) < 0.5 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
