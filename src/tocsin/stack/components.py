"""The stack's components: where their binaries are, which ports and flags, where their state lives.

Everything here is plain data, so a plan can be written to ``run/plan.json`` and run by a detached
supervisor exactly as the foreground one would. Every port is bound to 127.0.0.1 by default.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tocsin.errors import StackError

__all__ = [
    "BINARIES",
    "Component",
    "StackLayout",
    "StackSettings",
    "build_plan",
    "ensure_ports_free",
    "find_binary",
    "read_plan",
    "write_plan",
]

# kind -> (executable names tried in order, Debian package)
BINARIES: dict[str, tuple[tuple[str, ...], str]] = {
    "prometheus": (("prometheus",), "prometheus"),
    "alertmanager": (("prometheus-alertmanager", "alertmanager"), "prometheus-alertmanager"),
    "pushgateway": (("prometheus-pushgateway", "pushgateway"), "prometheus-pushgateway"),
    "node_exporter": (("prometheus-node-exporter", "node_exporter"), "prometheus-node-exporter"),
    "promtool": (("promtool",), "prometheus"),
    "amtool": (("amtool",), "prometheus-alertmanager"),
}


def find_binary(kind: str) -> str:
    """The path of a component's binary from PATH or /usr/bin, or a StackError with the apt-get line."""
    names, package = BINARIES[kind]
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/bin")
        if found:
            return found
    raise StackError(
        f"{names[0]} not found on PATH or in /usr/bin "
        f"(install it: sudo apt-get update && sudo apt-get install -y {package})"
    )


@dataclass(frozen=True)
class StackLayout:
    """Where the stack keeps its state: ``.tocsin/`` by default, kept across ``down``/``up``."""

    root: Path

    @property
    def config_root(self) -> Path:
        return self.root / "config"

    @property
    def current(self) -> Path:
        """Symlink to the active config generation, swapped atomically on reload."""
        return self.config_root / "current"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def state_file(self) -> Path:
        return self.run / "state.json"

    @property
    def plan_file(self) -> Path:
        return self.run / "plan.json"

    @property
    def alerts_db(self) -> Path:
        return self.root / "alerts.sqlite"

    @property
    def silences_file(self) -> Path:
        return self.root / "silences.json"

    def data(self, name: str) -> Path:
        return self.root / "data" / name

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def make(self) -> None:
        for path in (self.config_root, self.logs, self.run, self.root / "data"):
            path.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class StackSettings:
    """Ports and switches of the stack (from the spec's ``stack:`` section); defaults are the usual ports."""

    state_dir: Path = Path(".tocsin")
    host: str = "127.0.0.1"
    prometheus: int = 9090
    alertmanager: int = 9093
    pushgateway: int = 9091
    node_exporter: int = 9100
    receiver: int = 9095
    receiver_smtp: int = 2525
    logwatch: int = 9098
    #: the spec whose ``logs:`` section the watcher follows ('' when it has none: no watcher)
    logs_spec: str = ""
    ha_prometheus: int = 9190
    ha_alertmanager: int = 9193
    cluster: tuple[int, int] = (9094, 9194)
    retention: str = "15d"
    disabled: frozenset[str] = field(default_factory=frozenset)

    def enabled(self, kind: str) -> bool:
        return kind not in self.disabled

    @classmethod
    def from_spec(cls, stack: Any, base_dir: Path, *, logs_spec: Path | None = None) -> StackSettings:
        """From a spec's ``stack:`` model; ``state_dir`` is relative to the spec file's directory.

        ``logs_spec`` is the spec file when it has a ``logs:`` section: the watcher reads it from there.
        """
        kinds = ("prometheus", "alertmanager", "pushgateway", "node_exporter", "receiver", "logwatch")
        return cls(
            state_dir=(base_dir / stack.state_dir).resolve(),
            host=stack.host,
            prometheus=stack.prometheus.port,
            alertmanager=stack.alertmanager.port,
            pushgateway=stack.pushgateway.port,
            node_exporter=stack.node_exporter.port,
            receiver=stack.receiver.port,
            receiver_smtp=stack.receiver.smtp_port,
            logwatch=stack.logwatch.port,
            logs_spec=str(logs_spec) if logs_spec is not None else "",
            ha_prometheus=stack.ha.prometheus.port,
            ha_alertmanager=stack.ha.alertmanager.port,
            cluster=(stack.alertmanager.cluster_port, stack.ha.alertmanager.cluster_port),
            retention=str(stack.prometheus.retention),
            disabled=frozenset(k for k in kinds if not getattr(stack, k).enabled),
        )


@dataclass(frozen=True)
class Component:
    """One supervised process: how to start it and how to know it is ready."""

    name: str
    kind: str
    argv: tuple[str, ...]
    port: int
    host: str = "127.0.0.1"
    ready_path: str = "/-/ready"
    extra_ports: tuple[int, ...] = ()
    data_dir: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.extra_ports)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Component:
        return cls(**{**data, "argv": tuple(data["argv"]), "extra_ports": tuple(data["extra_ports"])})


def _prometheus(name: str, config: str, port: int, settings: StackSettings, layout: StackLayout) -> Component:
    data = layout.data(name)
    argv = (
        find_binary("prometheus"),
        f"--config.file={layout.current / 'prometheus' / config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address={settings.host}:{port}",
        f"--storage.tsdb.retention.time={settings.retention}",
        "--web.enable-lifecycle",
    )
    return Component(name, "prometheus", argv, port, settings.host, data_dir=str(data))


def _alertmanager(
    name: str, port: int, cluster: tuple[int, int] | None, settings: StackSettings, layout: StackLayout
) -> Component:
    data = layout.data(name)
    argv = [
        find_binary("alertmanager"),
        f"--config.file={layout.current / 'alertmanager' / 'alertmanager.yml'}",
        f"--storage.path={data}",
        f"--web.listen-address={settings.host}:{port}",
    ]
    extra: tuple[int, ...] = ()
    if cluster is None:
        argv.append("--cluster.listen-address=")  # no gossip port at all when not clustering
    else:
        own, peer = cluster
        argv += [
            f"--cluster.listen-address={settings.host}:{own}",
            f"--cluster.peer={settings.host}:{peer}",
            # loopback gossip is fast: the second instance waits 3 s (not 15) for the first to notify
            "--cluster.peer-timeout=3s",
            "--cluster.settle-timeout=10s",
        ]
        extra = (own,)
    return Component(
        name, "alertmanager", tuple(argv), port, settings.host, extra_ports=extra, data_dir=str(data)
    )


def _logwatch(settings: StackSettings, layout: StackLayout) -> Component:
    """``tocsin logwatch`` on the spec's ``logs:`` section; relative log paths are relative to the spec.

    Ready once ``/metrics`` answers, which the watcher serves only after its config and checkpoint load.
    """
    data = layout.root / "logwatch"
    argv = (
        sys.executable,
        "-m",
        "tocsin.logwatch",
        f"--config={settings.logs_spec}",
        "--section=logs",
        f"--state-dir={data}",
        f"--host={settings.host}",
        f"--port={settings.logwatch}",
    )
    return Component(
        "logwatch", "logwatch", argv, settings.logwatch, settings.host, "/metrics", data_dir=str(data)
    )


def _ensure_receiver_installed() -> None:
    """The receiver needs the ``receiver`` extra; say so before anything starts, not in a log file."""
    missing = [m for m in ("aiosmtpd",) if importlib.util.find_spec(m) is None]
    if missing:
        raise StackError(
            f"the alert receiver needs {', '.join(missing)} (pip install 'tocsin[receiver]', "
            "or set stack: {receiver: {enabled: false}} in the spec)"
        )


def build_plan(settings: StackSettings, layout: StackLayout, *, ha: bool = False) -> list[Component]:
    """The components to run, in start order (the receiver first, so early notifications land)."""
    host = settings.host
    plan: list[Component] = []
    argv: tuple[str, ...]
    if settings.enabled("receiver"):
        _ensure_receiver_installed()
        argv = (
            sys.executable,
            "-m",
            "tocsin.stack.receiver",
            f"--host={host}",
            f"--port={settings.receiver}",
            f"--smtp-port={settings.receiver_smtp}",
            f"--db={layout.alerts_db}",
        )
        plan.append(
            Component(
                "receiver", "receiver", argv, settings.receiver, host, extra_ports=(settings.receiver_smtp,)
            )
        )
    if settings.enabled("alertmanager"):
        if ha:
            a, b = settings.cluster
            plan.append(_alertmanager("alertmanager-0", settings.alertmanager, (a, b), settings, layout))
            plan.append(_alertmanager("alertmanager-1", settings.ha_alertmanager, (b, a), settings, layout))
        else:
            plan.append(_alertmanager("alertmanager", settings.alertmanager, None, settings, layout))
    if settings.enabled("pushgateway"):
        data = layout.data("pushgateway")
        argv = (
            find_binary("pushgateway"),
            f"--web.listen-address={host}:{settings.pushgateway}",
            f"--persistence.file={data / 'metrics.data'}",
            "--persistence.interval=5s",
        )
        plan.append(
            Component("pushgateway", "pushgateway", argv, settings.pushgateway, host, data_dir=str(data))
        )
    if settings.enabled("node_exporter"):
        argv = (find_binary("node_exporter"), f"--web.listen-address={host}:{settings.node_exporter}")
        plan.append(
            Component("node-exporter", "node_exporter", argv, settings.node_exporter, host, ready_path="/")
        )
    if settings.logs_spec and settings.enabled("logwatch"):
        plan.append(_logwatch(settings, layout))
    if settings.enabled("prometheus"):
        if ha:
            plan.append(
                _prometheus("prometheus-0", "prometheus-0.yml", settings.prometheus, settings, layout)
            )
            plan.append(
                _prometheus("prometheus-1", "prometheus-1.yml", settings.ha_prometheus, settings, layout)
            )
        else:
            plan.append(_prometheus("prometheus", "prometheus.yml", settings.prometheus, settings, layout))
    return plan


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the Go servers do: TIME_WAIT is fine
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def ensure_ports_free(components: list[Component]) -> None:
    """Every port of the plan is free on its host, or one StackError listing all taken ones (exit 2)."""
    taken = [
        f"{c.host}:{port} ({c.name})" for c in components for port in c.ports if _port_taken(c.host, port)
    ]
    if taken:
        raise StackError(
            "port already in use: "
            + ", ".join(taken)
            + " (stop what uses it, or choose other ports in the spec's stack: section)"
        )


def write_plan(layout: StackLayout, components: list[Component], options: dict[str, Any]) -> None:
    """Save the plan for a detached supervisor and for ``reload``/``status``."""
    layout.run.mkdir(parents=True, exist_ok=True)
    payload = {"components": [c.to_json() for c in components], "options": options}
    tmp = layout.plan_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(layout.plan_file)


def read_plan(layout: StackLayout) -> tuple[list[Component], dict[str, Any]]:
    payload = json.loads(layout.plan_file.read_text())
    return [Component.from_json(c) for c in payload["components"]], payload["options"]
