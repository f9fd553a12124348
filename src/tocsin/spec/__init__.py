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

from tocsin.durations import duration_seconds, format_duration
from tocsin.spec._checklist import CHECKLIST_PERIODS, ChecklistItem, checklist_query
from tocsin.spec._checks import ERROR_CHECKS, WARNING_CHECKS, Found
from tocsin.spec._dashboards import PANEL_KINDS, UNITS, Dashboard, Panel, PanelThresholds
from tocsin.spec._gc import paused_gc
from tocsin.spec._history import (
    BUILTIN_SECTIONS,
    Export,
    Report,
    ReportPanel,
    ReportSection,
    find_export,
    find_report,
)
from tocsin.spec._labels import LabelBound, output_labels
from tocsin.spec._load import load_document, load_spec, spec_problem, spec_warnings
from tocsin.spec._logs import LogsSection
from tocsin.spec._long_term import (
    LONG_TERM_ENGINES,
    LongTerm,
    LongTermAuth,
    long_term_query_url,
    long_term_reads,
    long_term_write_url,
)
from tocsin.spec._model import (
    Alert,
    BasicAuth,
    LevelFor,
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
from tocsin.spec._packdefs import PACKS, AlertDef, PackDef, PanelDef, RecordDef
from tocsin.spec._packs import LevelOverride, PackUse, pack_records
from tocsin.spec._positions import Locator, read_yaml
from tocsin.spec._profiles import BUILTIN_PROFILES
from tocsin.spec._promql import grouping_labels, parse_promql
from tocsin.spec._read import MAX_BYTES
from tocsin.spec._runbooks import (
    MAX_RUNBOOK_BYTES,
    is_local_runbook,
    runbook_file,
    runbook_slug,
    runbook_url,
    spec_runbooks,
)
from tocsin.spec._stack import (
    AlertmanagerComponent,
    Component,
    ConsoleAuth,
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
from tocsin.spec._templates import expand as expand_template
from tocsin.spec._time_intervals import TimePeriod, TimeRange
from tocsin.spec._types import (
    Comparison,
    Duration,
    FilePath,
    LabelName,
    Name,
    PositiveDuration,
    StrictModel,
    clean_number,
    parse_threshold,
)
from tocsin.spec._validate import BUILTIN_RECEIVER, RESERVED_ALERTS, secret_envs, secret_paths
from tocsin.spec._yaml import MAX_DEPTH, MAX_NODES

__all__ = [
    "BUILTIN_PROFILES",
    "BUILTIN_RECEIVER",
    "BUILTIN_SECTIONS",
    "CHECKLIST_PERIODS",
    "DEFAULT_REPEAT",
    "ERROR_CHECKS",
    "LONG_TERM_ENGINES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_RUNBOOK_BYTES",
    "PACKS",
    "PANEL_KINDS",
    "RESERVED_ALERTS",
    "STARTER_SPEC",
    "UNITS",
    "WARNING_CHECKS",
    "Alert",
    "AlertDef",
    "AlertmanagerComponent",
    "BasicAuth",
    "ChecklistItem",
    "Comparison",
    "Component",
    "ConsoleAuth",
    "ConsoleComponent",
    "Dashboard",
    "Duration",
    "EmailReceiver",
    "Export",
    "FilePath",
    "Found",
    "HaAlertmanagerComponent",
    "HaPrometheusComponent",
    "HaStack",
    "LabelBound",
    "LabelName",
    "LevelFor",
    "LevelOverride",
    "Locator",
    "LogsSection",
    "LogwatchComponent",
    "LongTerm",
    "LongTermAuth",
    "Name",
    "NodeExporterComponent",
    "PackDef",
    "PackUse",
    "Panel",
    "PanelDef",
    "PanelThresholds",
    "PositiveDuration",
    "Profile",
    "PrometheusComponent",
    "PushgatewayComponent",
    "Receiver",
    "ReceiverComponent",
    "RecordDef",
    "RemoteWrite",
    "Report",
    "ReportPanel",
    "ReportSection",
    "Route",
    "Routes",
    "Scrape",
    "Service",
    "SlackReceiver",
    "Slo",
    "Spec",
    "Stack",
    "StrictModel",
    "TargetDown",
    "TimePeriod",
    "TimeRange",
    "WebhookReceiver",
    "checklist_query",
    "clean_number",
    "duration_seconds",
    "expand_template",
    "find_export",
    "find_report",
    "format_duration",
    "grouping_labels",
    "is_local_runbook",
    "load_document",
    "load_spec",
    "long_term_query_url",
    "long_term_reads",
    "long_term_write_url",
    "output_labels",
    "pack_records",
    "parse_promql",
    "parse_threshold",
    "paused_gc",
    "read_yaml",
    "runbook_file",
    "runbook_slug",
    "runbook_url",
    "secret_envs",
    "secret_paths",
    "spec_problem",
    "spec_runbooks",
    "spec_warnings",
]
