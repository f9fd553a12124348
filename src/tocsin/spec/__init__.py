"""The declarative monitoring spec: one YAML file describing what to scrape, alert on and show.

Load it with :func:`load_spec`, which validates types, PromQL, durations,
references and secrets and raises :class:`~tocsin.errors.SpecError` carrying
every problem at its ``file:line:col``::

    from tocsin.spec import load_spec

    spec = load_spec("tocsin.yaml", profile="fast")
    for alert in spec.alerts:
        print(alert.name, alert.levels())

:class:`Spec`'s docstring holds a complete example; ``docs/spec.md`` documents every field.
"""

from __future__ import annotations

from tocsin.spec._dashboards import PANEL_KINDS, UNITS, Dashboard, Panel, PanelThresholds
from tocsin.spec._load import BUILTIN_PROFILES, load_spec, spec_problem, spec_warnings
from tocsin.spec._model import (
    Alert,
    BasicAuth,
    Profile,
    RemoteWrite,
    Scrape,
    Service,
    Slo,
    Spec,
    TargetDown,
)
from tocsin.spec._notify import (
    DEFAULT_REPEAT,
    EmailReceiver,
    Receiver,
    Route,
    Routes,
    SlackReceiver,
    WebhookReceiver,
)
from tocsin.spec._stack import (
    AlertmanagerComponent,
    Component,
    ConsoleComponent,
    HaAlertmanagerComponent,
    HaPrometheusComponent,
    HaStack,
    LogwatchComponent,
    NodeExporterComponent,
    PrometheusComponent,
    PushgatewayComponent,
    ReceiverComponent,
    Stack,
)
from tocsin.spec._starter import STARTER_SPEC
from tocsin.spec._types import Comparison, clean_number, duration_seconds, format_duration, parse_threshold
from tocsin.spec._validate import BUILTIN_RECEIVER, RESERVED_ALERTS

__all__ = [
    "BUILTIN_PROFILES",
    "BUILTIN_RECEIVER",
    "DEFAULT_REPEAT",
    "PANEL_KINDS",
    "RESERVED_ALERTS",
    "STARTER_SPEC",
    "UNITS",
    "Alert",
    "AlertmanagerComponent",
    "BasicAuth",
    "Comparison",
    "Component",
    "ConsoleComponent",
    "Dashboard",
    "EmailReceiver",
    "HaAlertmanagerComponent",
    "HaPrometheusComponent",
    "HaStack",
    "LogwatchComponent",
    "NodeExporterComponent",
    "Panel",
    "PanelThresholds",
    "Profile",
    "PrometheusComponent",
    "PushgatewayComponent",
    "Receiver",
    "ReceiverComponent",
    "RemoteWrite",
    "Route",
    "Routes",
    "Scrape",
    "Service",
    "SlackReceiver",
    "Slo",
    "Spec",
    "Stack",
    "TargetDown",
    "WebhookReceiver",
    "clean_number",
    "duration_seconds",
    "format_duration",
    "load_spec",
    "parse_threshold",
    "spec_problem",
    "spec_warnings",
]
