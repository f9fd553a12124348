"""The ``stack:`` section: loopback ports and switches of the local components.

``tocsin up`` runs these; the compiler needs them too (Alertmanager targets,
Pushgateway and node-exporter scrape jobs, the built-in receiver's URL).
Everything binds 127.0.0.1 by default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tocsin.spec._types import Duration

__all__ = [
    "AlertmanagerComponent",
    "Component",
    "ConsoleComponent",
    "HaAlertmanagerComponent",
    "HaPrometheusComponent",
    "HaStack",
    "NodeExporterComponent",
    "PrometheusComponent",
    "PushgatewayComponent",
    "ReceiverComponent",
    "Stack",
]

Port = int


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(_Strict):
    """A component that can be switched off and listens on one loopback port."""

    enabled: bool = True
    port: Port = Field(ge=1, le=65535)


class PrometheusComponent(Component):
    port: Port = Field(9090, ge=1, le=65535)
    retention: Duration = "15d"


class AlertmanagerComponent(Component):
    port: Port = Field(9093, ge=1, le=65535)
    #: gossip port, used only when two Alertmanagers cluster (``tocsin up --ha``)
    cluster_port: Port = Field(9094, ge=1, le=65535)


class PushgatewayComponent(Component):
    port: Port = Field(9091, ge=1, le=65535)


class NodeExporterComponent(Component):
    port: Port = Field(9100, ge=1, le=65535)


class ReceiverComponent(Component):
    """The built-in webhook receiver (also the Slack-compatible sink) and its SMTP sink."""

    port: Port = Field(9095, ge=1, le=65535)
    smtp_port: Port = Field(2525, ge=1, le=65535)


class ConsoleComponent(Component):
    port: Port = Field(9096, ge=1, le=65535)


class HaPrometheusComponent(PrometheusComponent):
    port: Port = Field(9190, ge=1, le=65535)


class HaAlertmanagerComponent(AlertmanagerComponent):
    port: Port = Field(9193, ge=1, le=65535)
    cluster_port: Port = Field(9194, ge=1, le=65535)


class HaStack(_Strict):
    """Ports of the second replicas when the stack runs as an HA pair."""

    prometheus: HaPrometheusComponent = HaPrometheusComponent()
    alertmanager: HaAlertmanagerComponent = HaAlertmanagerComponent()


class Stack(_Strict):
    """Local components; defaults: Prometheus 9090, Alertmanager 9093, Pushgateway 9091,
    node-exporter 9100, receiver 9095 (SMTP 2525), console 9096; HA replicas 9190/9193."""

    host: str = "127.0.0.1"
    state_dir: str = ".tocsin"
    prometheus: PrometheusComponent = PrometheusComponent()
    alertmanager: AlertmanagerComponent = AlertmanagerComponent()
    pushgateway: PushgatewayComponent = PushgatewayComponent()
    node_exporter: NodeExporterComponent = NodeExporterComponent()
    receiver: ReceiverComponent = ReceiverComponent()
    console: ConsoleComponent = ConsoleComponent()
    ha: HaStack = HaStack()
