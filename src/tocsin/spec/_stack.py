"""The ``stack:`` section: loopback ports and switches of the local components.

``tocsin up`` runs these; the compiler needs them too (Alertmanager targets,
Pushgateway and node-exporter scrape jobs, the built-in receiver's URL).
Everything binds 127.0.0.1 by default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tocsin import ports
from tocsin.spec._long_term import LongTerm
from tocsin.spec._types import Duration, FilePath, StrictModel

__all__ = [
    "AlertmanagerComponent",
    "Component",
    "ConsoleAuth",
    "ConsoleComponent",
    "HaAlertmanagerComponent",
    "HaPrometheusComponent",
    "HaStack",
    "LogwatchComponent",
    "NodeExporterComponent",
    "PostgresExporterComponent",
    "PrometheusComponent",
    "PushgatewayComponent",
    "ReceiverComponent",
    "RedisExporterComponent",
    "Stack",
]

#: A TCP port; every component listens on ``Stack.host`` (127.0.0.1).
Port = Annotated[int, Field(ge=1, le=65535)]


class Component(StrictModel):
    """A component that can be switched off and listens on one loopback port."""

    enabled: bool = True
    port: Port


class PrometheusComponent(Component):
    port: Port = ports.PROMETHEUS
    retention: Duration = "15d"


class AlertmanagerComponent(Component):
    port: Port = ports.ALERTMANAGER
    #: gossip port, used only when two Alertmanagers cluster (``tocsin up --ha``)
    cluster_port: Port = ports.ALERTMANAGER_CLUSTER


class PushgatewayComponent(Component):
    port: Port = ports.PUSHGATEWAY


class NodeExporterComponent(Component):
    port: Port = ports.NODE_EXPORTER


class ReceiverComponent(Component):
    """The built-in webhook receiver (also the Slack-compatible sink) and its SMTP sink.

    ``process: hosted`` (the default): when the stack runs the console, the console's process serves
    the receiver too, on the receiver's own ports (one Python process fewer, ~27 MB of RSS); without
    the console it runs on its own. ``process: own``: always its own process.
    """

    port: Port = ports.RECEIVER
    smtp_port: Port = ports.RECEIVER_SMTP
    process: Literal["hosted", "own"] = "hosted"


class ConsoleAuth(StrictModel):
    """Credentials the console asks for (none by default: it binds 127.0.0.1); secrets from files only."""

    username: str | None = None
    password_file: FilePath | None = None
    bearer_token_file: FilePath | None = None

    @model_validator(mode="after")
    def _one_scheme(self) -> ConsoleAuth:
        basic = self.username is not None or self.password_file is not None
        if basic == (self.bearer_token_file is not None):
            raise ValueError(
                "one way to authenticate: give username + password_file (HTTP Basic) or bearer_token_file"
            )
        if basic and not (self.username and self.password_file):
            raise ValueError("HTTP Basic needs a username and a password_file: add the missing one")
        return self


class ConsoleComponent(Component):
    """``tocsin console``: dashboards, alerts, silences, targets, rules, health, logs and explore."""

    port: Port = ports.CONSOLE
    auth: ConsoleAuth | None = None


class LogwatchComponent(Component):
    """``tocsin logwatch`` on the spec's ``logs:`` section; started only when that section is present."""

    port: Port = ports.LOGWATCH


class RedisExporterComponent(Component):
    """Debian's ``prometheus-redis-exporter`` for the Redis a cache pack uses (``redis_memory_used_bytes``,
    seed 000's "Redis memory"); off unless enabled. The password, if any, is read from ``password_file``."""

    enabled: bool = False
    port: Port = ports.REDIS_EXPORTER
    address: str = "redis://127.0.0.1:6379"
    password_file: FilePath | None = None

    @model_validator(mode="after")
    def _no_inline_password(self) -> RedisExporterComponent:
        if "@" in self.address.partition("://")[2]:
            raise ValueError("address must not carry credentials: put the password in password_file")
        return self


class PostgresExporterComponent(Component):
    """Debian's ``prometheus-postgres-exporter`` for the PostgreSQL a db pack uses (``pg_*``); off unless
    enabled. ``uri`` is host:port/database?options, without credentials; the password comes from
    ``password_file`` (passed to the exporter as ``DATA_SOURCE_PASS_FILE``, never on its command line)."""

    enabled: bool = False
    port: Port = ports.POSTGRES_EXPORTER
    uri: str = "127.0.0.1:5432/postgres?sslmode=disable"
    user: str = "postgres"
    password_file: FilePath | None = None

    @model_validator(mode="after")
    def _no_inline_password(self) -> PostgresExporterComponent:
        if "@" in self.uri or "://" in self.uri:
            raise ValueError(
                "uri is host:port/database?options (no scheme, no credentials): e.g. 127.0.0.1:5432/app"
            )
        return self


class HaPrometheusComponent(PrometheusComponent):
    port: Port = ports.HA_PROMETHEUS


class HaAlertmanagerComponent(AlertmanagerComponent):
    port: Port = ports.HA_ALERTMANAGER
    cluster_port: Port = ports.HA_ALERTMANAGER_CLUSTER


class HaStack(StrictModel):
    """Ports of the second replicas when the stack runs as an HA pair."""

    prometheus: HaPrometheusComponent = HaPrometheusComponent()
    alertmanager: HaAlertmanagerComponent = HaAlertmanagerComponent()


class Stack(StrictModel):
    """Local components; defaults: Prometheus 9090, Alertmanager 9093, Pushgateway 9091,
    node-exporter 9100, receiver 9095 (SMTP 2525), console 9096, logwatch 9098 (with ``logs:``);
    HA replicas 9190/9193."""

    host: str = "127.0.0.1"
    state_dir: FilePath = ".tocsin"
    prometheus: PrometheusComponent = PrometheusComponent()
    alertmanager: AlertmanagerComponent = AlertmanagerComponent()
    pushgateway: PushgatewayComponent = PushgatewayComponent()
    node_exporter: NodeExporterComponent = NodeExporterComponent()
    receiver: ReceiverComponent = ReceiverComponent()
    console: ConsoleComponent = ConsoleComponent()
    logwatch: LogwatchComponent = LogwatchComponent()
    redis_exporter: RedisExporterComponent = RedisExporterComponent()
    postgres_exporter: PostgresExporterComponent = PostgresExporterComponent()
    ha: HaStack = HaStack()
    #: a long-term store every Prometheus remote-writes to (``victoriametrics`` or a URL; spec/_long_term.py)
    long_term: LongTerm | None = None
