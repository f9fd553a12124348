"""The ``stack:`` section: loopback ports and switches of the local components.

``tocsin up`` runs these; the compiler needs them too (Alertmanager targets,
Pushgateway and node-exporter scrape jobs, the built-in receiver's URL).
Everything binds 127.0.0.1 by default.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tocsin.spec._types import Duration, StrictModel

__all__ = [
    "AlertmanagerComponent",
    "Component",
    "ConsoleComponent",
    "HaAlertmanagerComponent",
    "HaPrometheusComponent",
    "HaStack",
    "LogwatchComponent",
    "NodeExporterComponent",
    "PrometheusComponent",
    "PushgatewayComponent",
    "ReceiverComponent",
    "Stack",
]

#: A TCP port; every component listens on ``Stack.host`` (127.0.0.1).
Port = Annotated[int, Field(ge=1, le=65535)]


class Component(StrictModel):
    """A component that can be switched off and listens on one loopback port."""

    enabled: bool = True
    port: Port


class PrometheusComponent(Component):
    port: Port = 9090
    retention: Duration = "15d"


class AlertmanagerComponent(Component):
    port: Port = 9093
    #: gossip port, used only when two Alertmanagers cluster (``tocsin up --ha``)
    cluster_port: Port = 9094


class PushgatewayComponent(Component):
    port: Port = 9091


class NodeExporterComponent(Component):
    port: Port = 9100


class ReceiverComponent(Component):
    """The built-in webhook receiver (also the Slack-compatible sink) and its SMTP sink."""

    port: Port = 9095
    smtp_port: Port = 2525


class ConsoleComponent(Component):
    port: Port = 9096


class LogwatchComponent(Component):
    """``tocsin logwatch`` on the spec's ``logs:`` section; started only when that section is present."""

    port: Port = 9098


class HaPrometheusComponent(PrometheusComponent):
    port: Port = 9190


class HaAlertmanagerComponent(AlertmanagerComponent):
    port: Port = 9193
    cluster_port: Port = 9194


class HaStack(StrictModel):
    """Ports of the second replicas when the stack runs as an HA pair."""

    prometheus: HaPrometheusComponent = HaPrometheusComponent()
    alertmanager: HaAlertmanagerComponent = HaAlertmanagerComponent()


class Stack(StrictModel):
    """Local components; defaults: Prometheus 9090, Alertmanager 9093, Pushgateway 9091,
    node-exporter 9100, receiver 9095 (SMTP 2525), console 9096, logwatch 9098 (with ``logs:``);
    HA replicas 9190/9193."""

    host: str = "127.0.0.1"
    state_dir: str = ".tocsin"
    prometheus: PrometheusComponent = PrometheusComponent()
    alertmanager: AlertmanagerComponent = AlertmanagerComponent()
    pushgateway: PushgatewayComponent = PushgatewayComponent()
    node_exporter: NodeExporterComponent = NodeExporterComponent()
    receiver: ReceiverComponent = ReceiverComponent()
    console: ConsoleComponent = ConsoleComponent()
    logwatch: LogwatchComponent = LogwatchComponent()
    ha: HaStack = HaStack()
