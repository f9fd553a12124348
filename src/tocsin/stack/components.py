"""The stack's components: one table says what each kind is; ``build_plan`` turns it into processes.

A kind is data (:class:`Kind`): the executables to look for and the Debian package that ships them (or
the ``python -m`` module of one of tocsin's own processes), its flags as a function of one
:class:`Instance` (ports, paths, the spec's options), its readiness and liveness URLs. Adding a
component is one entry in :data:`KINDS`, its ``stack.<kind>`` model in the spec and its default port in
:mod:`tocsin.ports`; nothing else changes::

    Kind(
        "redis_exporter",
        binaries=("prometheus-redis-exporter",),
        package="prometheus-redis-exporter",
        args=lambda c: [f"--web.listen-address={c.listen}", f"--redis.addr={c.options['address']}"],
        ready_path="/",
        health_path="/",
    )

The plan is plain data too (:class:`Component`), so it can be written to ``run/plan.json`` and run by a
detached supervisor exactly as the foreground one would. Every port is bound to 127.0.0.1 by default.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tocsin.errors import StackError
from tocsin.stack.layout import StackLayout

__all__ = [
    "BINARIES",
    "KINDS",
    "Component",
    "Instance",
    "Kind",
    "StackLayout",
    "StackSettings",
    "build_plan",
    "find_binary",
    "read_plan",
    "receiver_hosted",
    "write_plan",
]


def _default_components() -> dict[str, dict[str, Any]]:
    """The spec's own defaults (ports from :mod:`tocsin.ports`): one source for both."""
    from tocsin.spec import Stack  # not at import: the supervisor reads plans and never needs pydantic

    return _component_options(Stack().model_dump(mode="json"))


def _component_options(stack: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``stack:`` as a plain dict → options by kind; ``ha.<kind>`` goes to that kind's ``ha`` key."""
    options = {k: dict(v) for k, v in stack.items() if isinstance(v, Mapping) and "port" in v}
    for kind, replica in (stack.get("ha") or {}).items():
        options.setdefault(kind, {})["ha"] = dict(replica)
    return options


@dataclass(frozen=True)
class StackSettings:
    """Where the stack lives and each component's options (from the spec's ``stack:`` section).

    ``components`` maps a kind to its ``stack.<kind>`` values: ``port``, ``enabled`` and whatever else
    that kind has (``smtp_port``, ``retention``, ``cluster_port``; ``ha`` for the second replica).
    """

    state_dir: Path = Path(".tocsin")
    host: str = "127.0.0.1"
    components: Mapping[str, Mapping[str, Any]] = field(default_factory=_default_components)
    #: the spec whose ``logs:`` section the watcher follows ('' when it has none: no watcher)
    logs_spec: str = ""

    def options(self, kind: str) -> Mapping[str, Any]:
        return self.components.get(kind, {})

    def enabled(self, kind: str) -> bool:
        """Off unless the spec has a ``stack.<kind>`` section that is not ``enabled: false``."""
        return kind in self.components and bool(self.options(kind).get("enabled", True))

    def port(self, kind: str, key: str = "port") -> int:
        return int(self.options(kind)[key])

    def with_options(self, kind: str, **values: Any) -> StackSettings:
        """A copy with some of one kind's options changed (``ha={...}`` replaces the replica's)."""
        merged = {**self.components, kind: {**self.options(kind), **values}}
        return replace(self, components=merged)

    @classmethod
    def from_spec(cls, stack: Any, base_dir: Path, *, logs_spec: Path | None = None) -> StackSettings:
        """From a spec's ``stack:`` model; ``state_dir`` is relative to the spec file's directory.

        ``logs_spec`` is the spec file when it has a ``logs:`` section: the watcher reads it from there.
        """
        return cls(
            state_dir=(base_dir / stack.state_dir).resolve(),
            host=stack.host,
            components=_component_options(stack.model_dump(mode="json")),
            logs_spec=str(logs_spec) if logs_spec is not None else "",
        )


@dataclass(frozen=True)
class Component:
    """One supervised process: how to start it and how to know it is ready, then alive."""

    name: str
    kind: str
    argv: tuple[str, ...]
    port: int
    host: str = "127.0.0.1"
    ready_path: str = "/-/ready"
    extra_ports: tuple[int, ...] = ()
    data_dir: str = ""
    #: probed every few seconds once ready; a process that stops answering it is restarted
    health_path: str = "/-/healthy"
    #: set in its environment (paths of secret files, never the secrets: the plan is written to disk)
    env: Mapping[str, str] = field(default_factory=dict)
    #: the component whose process serves this one (the receiver inside the console); it has no
    #: process of its own (``argv`` is empty) but keeps its ports, URLs, log file and status entry
    hosted_by: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.extra_ports)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Component:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        return cls(
            **{**values, "argv": tuple(data["argv"]), "extra_ports": tuple(data.get("extra_ports", ()))}
        )


@dataclass(frozen=True)
class Instance:
    """What a kind's ``args`` see: one instance's address, paths and options."""

    name: str
    host: str
    port: int
    options: Mapping[str, Any]
    layout: StackLayout
    settings: StackSettings
    #: 0 or 1 for the replicas of ``tocsin up --ha``, None when the kind runs once
    replica: int | None = None

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def data(self) -> Path:
        return self.layout.data(self.name)

    @property
    def config(self) -> Path:
        """The active config generation (``config/current``), swapped atomically on reload."""
        return self.layout.current


def _no_ports(_: Instance) -> tuple[int, ...]:
    return ()


def _always(_: StackSettings) -> bool:
    return True


@dataclass(frozen=True)
class Kind:
    """One kind of component, as data: what to run, its flags, how to probe it."""

    kind: str
    #: the flags after the executable, for one instance
    args: Callable[[Instance], Sequence[str]]
    #: executables tried in order on PATH, then in /usr/bin; empty for tocsin's own ``module``
    binaries: tuple[str, ...] = ()
    #: the Debian package that ships ``binaries`` (the install hint when they are missing)
    package: str = ""
    #: ``python -m <module>`` under this interpreter, for tocsin's own processes
    module: str = ""
    #: Python modules it imports and the extra that installs them, checked before anything starts
    needs: tuple[str, ...] = ()
    extra: str = ""
    #: the process name when not the kind (``node-exporter``)
    name: str = ""
    ready_path: str = "/-/ready"
    health_path: str = "/-/healthy"
    #: its data directory (created before start): ``data/<name>`` when set
    has_data: bool = False
    extra_ports: Callable[[Instance], tuple[int, ...]] = _no_ports
    #: runs as two replicas (``<name>-0``, ``<name>-1``) under ``tocsin up --ha``
    replicated: bool = False
    #: besides ``enabled``: whether the spec asks for it (the log watcher needs a ``logs:`` section)
    wanted: Callable[[StackSettings], bool] = _always
    #: environment variables of the process (never secrets themselves: paths of secret files)
    env: Callable[[Instance], Mapping[str, str]] = lambda _: {}

    @property
    def process_name(self) -> str:
        return self.name or self.kind


#: Go collects garbage when the heap has grown by GOGC percent since the last collection (default 100).
#: At 50 the Go components keep half the headroom: ~4 MB less RSS over the four at start, measured in
#: docs/performance.md, for collections that stay sub-millisecond at this stack's heap sizes.
GO_GC_PERCENT = "50"


def _go_env(_: Instance) -> Mapping[str, str]:
    """``GOGC`` for a Go component, unless the environment of ``tocsin up`` already tunes Go's collector."""
    if "GOGC" in os.environ or "GOMEMLIMIT" in os.environ:
        return {}
    return {"GOGC": GO_GC_PERCENT}


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _prometheus_args(c: Instance) -> list[str]:
    config = "prometheus.yml" if c.replica is None else f"prometheus-{c.replica}.yml"
    return [
        f"--config.file={c.config / 'prometheus' / config}",
        f"--storage.tsdb.path={c.data}",
        f"--web.listen-address={c.listen}",
        f"--storage.tsdb.retention.time={c.options.get('retention', '15d')}",
        "--web.enable-lifecycle",
        # the admin API (TSDB snapshots for `tocsin backup`, series deletion for `tocsin reset`) can wipe
        # the TSDB: only where nothing but this machine reaches it
        *(["--web.enable-admin-api"] if _loopback(c.host) else []),
        # generatorURL and its UI's links: the address it really listens on, not the machine's hostname
        f"--web.external-url=http://{c.listen}/",
    ]


def _ui_url(c: Instance) -> str:
    """Debian's Alertmanager ships no UI: its notification links (/#/alerts, /#/silences/new) open the
    console when the stack runs one, else its own address on 127.0.0.1."""
    if c.settings.enabled("console") and _console_wanted(c.settings):
        return f"http://{c.host}:{c.settings.port('console')}/"
    return f"http://{c.listen}/"


def _alertmanager_args(c: Instance) -> list[str]:
    argv = [
        f"--config.file={c.config / 'alertmanager' / 'alertmanager.yml'}",
        f"--storage.path={c.data}",
        f"--web.listen-address={c.listen}",
        f"--web.external-url={_ui_url(c)}",
    ]
    if c.replica is None:
        return [*argv, "--cluster.listen-address="]  # no gossip port at all when not clustering
    own, peer = _cluster_ports(c)
    return [
        *argv,
        f"--cluster.listen-address={c.host}:{own}",
        f"--cluster.peer={c.host}:{peer}",
        # loopback gossip is fast: the second instance waits 3 s (not 15) for the first to notify
        "--cluster.peer-timeout=3s",
        "--cluster.settle-timeout=10s",
    ]


def _cluster_ports(c: Instance) -> tuple[int, int]:
    """(own, peer) gossip ports of an Alertmanager replica."""
    first = int(c.settings.options("alertmanager")["cluster_port"])
    second = int(c.settings.options("alertmanager")["ha"]["cluster_port"])
    return (first, second) if c.replica == 0 else (second, first)


def _receiver_args(c: Instance) -> list[str]:
    smtp = c.options["smtp_port"]
    return [f"--host={c.host}", f"--port={c.port}", f"--smtp-port={smtp}", f"--db={c.layout.alerts_db}"]


def receiver_hosted(settings: StackSettings) -> bool:
    """The console's process serves the receiver: both run, and the spec did not say ``process: own``.

    One Python process fewer (~27 MB of RSS, docs/performance.md); the receiver keeps its ports, URLs,
    readiness, log file and status entry.
    """
    wanted = settings.enabled("receiver") and settings.options("receiver").get("process", "hosted") != "own"
    return wanted and settings.enabled("console") and _console_wanted(settings)


def _hosted_receiver_args(c: Instance) -> list[str]:
    """The receiver's flags for the console that hosts it (its log stays ``logs/receiver.log``)."""
    options = c.settings.options("receiver")
    return [
        f"--receiver-port={options['port']}",
        f"--receiver-smtp-port={options['smtp_port']}",
        f"--receiver-db={c.layout.alerts_db}",
        f"--receiver-log={c.layout.log('receiver')}",
    ]


def _logwatch_args(c: Instance) -> list[str]:
    """The watcher runs on the JSON config compiled from ``logs:`` (paths there relative to the spec)."""
    return [
        f"--config={c.config / 'logwatch' / 'logwatch.json'}",
        f"--state-dir={c.layout.root / 'logwatch'}",
        f"--host={c.host}",
        f"--port={c.port}",
    ]


def _victoriametrics_args(c: Instance) -> list[str]:
    """``stack.long_term: victoriametrics``: the flags compose and Kubernetes get too (compile/long_term)."""
    from tocsin.compile.long_term import victoriametrics_flags

    return victoriametrics_flags(dict(c.options), listen=c.listen, data=str(c.data))


def _console_wanted(settings: StackSettings) -> bool:
    """Only with a view model in the bundle: ``tocsin up`` on a spec writes one; hand-made bundles lack it."""
    return bool(settings.options("console").get("view_model"))


def _console_args(c: Instance) -> list[str]:
    """The console reads the bundle's view model (re-read after a reload); auth secrets stay in files."""
    argv = [
        f"--model={c.config / 'console' / 'model.json'}",
        f"--host={c.host}",
        f"--port={c.port}",
        f"--logs-db={c.layout.root / 'logwatch' / 'logs.db'}",
        *(_hosted_receiver_args(c) if receiver_hosted(c.settings) else []),
    ]
    auth = c.options.get("auth") or {}
    if auth.get("bearer_token_file"):
        return [*argv, f"--token-file={auth['bearer_token_file']}"]
    if auth.get("username"):
        return [*argv, f"--username={auth['username']}", f"--password-file={auth['password_file']}"]
    return argv


#: Every kind ``tocsin up`` knows, in start order (the receiver first, so early notifications land;
#: Prometheus last, so its first scrapes find the others up).
KINDS: tuple[Kind, ...] = (
    Kind(
        "receiver",
        _receiver_args,
        module="tocsin.stack.receiver",
        needs=("aiosmtpd",),
        extra="receiver",
        extra_ports=lambda c: (int(c.options["smtp_port"]),),
    ),
    Kind(
        "alertmanager",
        _alertmanager_args,
        binaries=("prometheus-alertmanager", "alertmanager"),
        package="prometheus-alertmanager",
        has_data=True,
        replicated=True,
        env=_go_env,
        extra_ports=lambda c: () if c.replica is None else (_cluster_ports(c)[0],),
    ),
    Kind(
        "pushgateway",
        lambda c: [
            f"--web.listen-address={c.listen}",
            f"--persistence.file={c.data / 'metrics.data'}",
            "--persistence.interval=5s",
        ],
        binaries=("prometheus-pushgateway", "pushgateway"),
        package="prometheus-pushgateway",
        has_data=True,
        env=_go_env,
    ),
    Kind(
        "node_exporter",
        lambda c: [f"--web.listen-address={c.listen}"],
        binaries=("prometheus-node-exporter", "node_exporter"),
        package="prometheus-node-exporter",
        name="node-exporter",
        ready_path="/",
        health_path="/",
        env=_go_env,
    ),
    Kind(
        "logwatch",
        _logwatch_args,
        module="tocsin.logwatch",
        # ready once /metrics answers, which the watcher serves only after its config and checkpoint load
        ready_path="/metrics",
        health_path="/metrics",
        wanted=lambda s: bool(s.logs_spec),
    ),
    Kind(
        "console",
        _console_args,
        module="tocsin.views.console",
        needs=("uvicorn", "starlette", "jinja2"),
        extra="console",
        wanted=_console_wanted,
    ),
    Kind(
        "redis_exporter",
        lambda c: [
            f"-web.listen-address={c.listen}",
            f"-redis.addr={c.options['address']}",
            *(
                [f"-redis.password-file={c.options['password_file']}"]
                if c.options.get("password_file")
                else []
            ),
        ],
        binaries=("prometheus-redis-exporter", "redis_exporter"),
        package="prometheus-redis-exporter",
        name="redis-exporter",
        ready_path="/",
        health_path="/",
    ),
    Kind(
        "postgres_exporter",
        lambda c: [f"--web.listen-address={c.listen}"],
        binaries=("prometheus-postgres-exporter", "postgres_exporter"),
        package="prometheus-postgres-exporter",
        name="postgres-exporter",
        ready_path="/",
        health_path="/",
        env=lambda c: {
            "DATA_SOURCE_URI": str(c.options["uri"]),
            "DATA_SOURCE_USER": str(c.options["user"]),
            **(
                {"DATA_SOURCE_PASS_FILE": str(c.options["password_file"])}
                if c.options.get("password_file")
                else {}
            ),
        },
    ),
    Kind(  # before Prometheus, so its first remote writes find it up
        "long_term",
        _victoriametrics_args,
        binaries=("victoria-metrics", "victoria-metrics-prod"),
        package="victoria-metrics",
        name="victoriametrics",
        ready_path="/health",
        health_path="/health",
        has_data=True,
        wanted=lambda s: not s.options("long_term").get("url"),  # an external engine runs elsewhere
    ),
    Kind(
        "prometheus",
        _prometheus_args,
        binaries=("prometheus",),
        package="prometheus",
        has_data=True,
        replicated=True,
        env=_go_env,
    ),
)

#: tools the stack runs besides its components (checks before a config is swapped in)
_TOOLS: dict[str, tuple[tuple[str, ...], str]] = {
    "promtool": (("promtool",), "prometheus"),
    "amtool": (("amtool",), "prometheus-alertmanager"),
}

#: kind -> (executable names tried in order, Debian package)
BINARIES: dict[str, tuple[tuple[str, ...], str]] = {
    **{k.kind: (k.binaries, k.package) for k in KINDS if k.binaries},
    **_TOOLS,
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


def _ensure_importable(kinds: list[Kind]) -> None:
    """Each tocsin process needs its extra: say which, for all of them at once, before anything starts.

    One message for every missing extra, so that a minimal install (``pip install tocsin[flask]``)
    learns the whole ``pip install`` line at the first ``tocsin up``, not one extra per attempt.
    """
    found = [(kind, [m for m in kind.needs if importlib.util.find_spec(m) is None]) for kind in kinds]
    missing = [(kind, modules) for kind, modules in found if modules]
    if not missing:
        return
    needs = "; ".join(f"the {kind.process_name} needs {', '.join(mods)}" for kind, mods in missing)
    extras = ",".join(dict.fromkeys(kind.extra for kind, _ in missing))
    off = ", ".join(f"{kind.kind}: {{enabled: false}}" for kind, _ in missing)
    raise StackError(f"{needs} (pip install 'tocsin[{extras}]', or set stack: {{{off}}} in the spec)")


def _instances(kind: Kind, settings: StackSettings, layout: StackLayout, ha: bool) -> list[Instance]:
    options = settings.options(kind.kind)
    name = kind.process_name
    one = Instance(name, settings.host, int(options["port"]), options, layout, settings)
    if not (ha and kind.replicated):
        return [one]
    second = {**options, **options.get("ha", {})}
    return [
        replace(one, name=f"{name}-0", replica=0),
        Instance(f"{name}-1", settings.host, int(second["port"]), second, layout, settings, replica=1),
    ]


def build_plan(settings: StackSettings, layout: StackLayout, *, ha: bool = False) -> list[Component]:
    """The components to run, in start order; StackError if a binary or a Python extra is missing."""
    plan: list[Component] = []
    kinds = [kind for kind in KINDS if settings.enabled(kind.kind) and kind.wanted(settings)]
    _ensure_importable(kinds)
    hosted = {"receiver": "console"} if receiver_hosted(settings) else {}
    for kind in kinds:
        command = (sys.executable, "-m", kind.module) if kind.module else (find_binary(kind.kind),)
        for inst in _instances(kind, settings, layout, ha):
            host = hosted.get(kind.kind, "")
            plan.append(
                Component(
                    inst.name,
                    kind.kind,
                    () if host else (*command, *kind.args(inst)),
                    inst.port,
                    inst.host,
                    kind.ready_path,
                    kind.extra_ports(inst),
                    str(inst.data) if kind.has_data else "",
                    kind.health_path,
                    dict(kind.env(inst)),
                    host,
                )
            )
    return plan


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
