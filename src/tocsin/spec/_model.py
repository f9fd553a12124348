"""The monitoring spec as pydantic models (unknown keys are errors, everything is frozen).

:class:`Spec` is the root; its docstring is the complete example the docs and
``tocsin init`` start from.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tocsin.errors import Problem
from tocsin.spec._checklist import ChecklistItem
from tocsin.spec._dashboards import Dashboard, Panel, PanelThresholds
from tocsin.spec._history import Export, Report
from tocsin.spec._logs import LogsSection
from tocsin.spec._notify import Receiver, Routes
from tocsin.spec._packs import LevelOverride, PackUse
from tocsin.spec._positions import Locator
from tocsin.spec._promql import PromQL, SloQuery
from tocsin.spec._stack import Stack
from tocsin.spec._time_intervals import TimeInterval
from tocsin.spec._types import (
    AlertName,
    Comparison,
    Duration,
    FilePath,
    LabelName,
    Name,
    PositiveDuration,
    Priority,
    Severity,
    StrictModel,
    Threshold,
    WaitDuration,
    duration_seconds,
    parse_threshold,
)

__all__ = [
    "Alert",
    "BasicAuth",
    "LevelFor",
    "Profile",
    "RemoteWrite",
    "Scrape",
    "Service",
    "Slo",
    "Spec",
    "TargetDown",
]


class BasicAuth(StrictModel):
    """HTTP basic auth whose password is read from a file by Prometheus."""

    username: str
    password_file: FilePath


class Scrape(StrictModel):
    """Global scrape and rule-evaluation timing."""

    interval: PositiveDuration = "15s"
    timeout: PositiveDuration = "10s"
    evaluation_interval: PositiveDuration = "15s"

    @model_validator(mode="after")
    def _timeout_fits(self) -> Scrape:
        if "timeout" not in self.model_fields_set and duration_seconds(self.timeout) > duration_seconds(
            self.interval
        ):
            # Prometheus's own default: 10s, but never longer than the interval.
            object.__setattr__(self, "timeout", self.interval)
        if duration_seconds(self.timeout) > duration_seconds(self.interval):
            raise ValueError(
                f"timeout {self.timeout} is longer than interval {self.interval}: Prometheus rejects it"
            )
        return self


class TargetDown(StrictModel):
    """The automatic ``TargetDown`` alert of a service (``up == 0``)."""

    enabled: bool = True
    for_: WaitDuration = Field("2m", alias="for")
    priority: Priority = "P2"
    severity: Severity = "critical"
    #: a URL, or a Markdown file next to the spec (``runbooks/service-down.md``), as an alert's
    runbook: str | None = None


class Service(StrictModel):
    """A scraped service: static ``targets`` (host:port) and/or ``file_sd`` files for dynamic ones."""

    targets: list[str] = Field(default_factory=list)
    file_sd: list[FilePath] = Field(default_factory=list)
    metrics_path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"
    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)
    honor_labels: bool = False
    health: str | None = None
    basic_auth: BasicAuth | None = None
    bearer_token_file: FilePath | None = None
    down: TargetDown = TargetDown()

    @field_validator("targets")
    @classmethod
    def _host_port(cls, targets: list[str]) -> list[str]:
        for target in targets:
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit() or "/" in target:
                raise ValueError(f"target {target!r} is not host:port: write e.g. 127.0.0.1:8000")
        return targets

    @model_validator(mode="after")
    def _has_targets(self) -> Service:
        if not self.targets and not self.file_sd:
            raise ValueError(
                "a service without targets: give targets: [host:port, ...] or file_sd: [files listing them]"
            )
        if not self.metrics_path.startswith("/"):
            raise ValueError(
                f"metrics_path {self.metrics_path!r} is not a path: start it with /, e.g. /metrics"
            )
        return self


class LevelFor(StrictModel):
    """``for:`` per level of one alert; a level left out waits for nothing (fires on the first bad sample)."""

    warning: WaitDuration | None = None
    critical: WaitDuration | None = None


class Alert(StrictModel):
    """One alert. With ``warning``/``critical`` thresholds the expression is compared to each and
    compiles to two rules sharing it; without, the expression is the condition and ``severity`` says
    how bad it is."""

    name: AlertName
    expr: PromQL
    warning: Threshold | None = None
    critical: Threshold | None = None
    severity: Severity | None = None
    #: one duration for every level, or one per level (``{warning: 10m, critical: 5m}``: seed 002's
    #: "p95 > 1 s for 10 min" and "p95 > 2 s for 5 min" on one expression)
    for_: WaitDuration | LevelFor | None = Field(None, alias="for")
    priority: Priority = "P2"
    service: Name | None = None
    runbook: str | None = None
    summary: str | None = None
    description: str | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)

    @field_validator("critical")
    @classmethod
    def _beyond_warning(cls, critical: str | None, info: ValidationInfo) -> str | None:
        if critical is None or info.data.get("warning") is None:
            return critical
        warning, crit = parse_threshold(info.data["warning"]), parse_threshold(critical)
        if warning.upward != crit.upward:
            raise ValueError(f"warning {warning} and critical {crit} point in opposite directions: flip one")
        if not warning.holds(crit.value) or warning.value == crit.value:
            raise ValueError(f"critical {crit} must be beyond warning {warning}: swap them")
        return critical

    @field_validator("severity")
    @classmethod
    def _severity_or_levels(cls, severity: str | None, info: ValidationInfo) -> str | None:
        if severity is not None and (info.data.get("warning") or info.data.get("critical")):
            raise ValueError(
                "severity comes from the thresholds here: drop severity, or drop warning/critical"
            )
        return severity

    @model_validator(mode="after")
    def _levels(self) -> Alert:
        if not self.levels() and self.severity is None:
            raise ValueError(
                "no level: give warning and/or critical thresholds (e.g. warning: '> 2') or a severity"
            )
        if isinstance(self.for_, LevelFor):
            given = {level for level in ("warning", "critical") if getattr(self.for_, level) is not None}
            extra = given - set(self.levels())
            if extra:
                named = " and ".join(sorted(extra))
                raise ValueError(
                    f"for {named} given, but the alert has no {named} threshold: "
                    "drop that for, or add the level"
                )
        return self

    def for_level(self, level: str) -> str | None:
        """The ``for`` of one level (``warning``, ``critical``, or a plain alert's severity)."""
        if isinstance(self.for_, LevelFor):
            value: str | None = getattr(self.for_, level, None)
            return value
        return self.for_

    def waits(self) -> bool:
        """Whether every level has a ``for`` (the lint's "a single bad sample will fire it")."""
        if isinstance(self.for_, LevelFor):
            return all(self.for_level(level) for level in self.levels())
        return bool(self.for_)

    def levels(self) -> dict[str, Comparison]:
        """``{"warning": Comparison, "critical": Comparison}`` for the thresholds given."""
        return {
            level: parse_threshold(text)
            for level, text in (("warning", self.warning), ("critical", self.critical))
            if text is not None
        }


class Slo(StrictModel):
    """A service-level objective alerted with multi-window multi-burn-rate rules (SRE workbook)."""

    name: Name
    objective: float = Field(gt=0, lt=100, description="percent of good events, e.g. 99.5")
    errors: SloQuery
    total: SloQuery
    period: Duration = "30d"
    service: Name | None = None
    page_priority: Priority = "P1"
    ticket_priority: Priority = "P3"
    runbook: str | None = None
    description: str | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)

    @property
    def error_budget(self) -> Decimal:
        """1 - objective as an exact decimal (99.5 → 0.005)."""
        return (Decimal(100) - Decimal(str(self.objective))) / Decimal(100)


class RemoteWrite(StrictModel):
    """Ship samples to Mimir, Thanos Receive or VictoriaMetrics."""

    url: str
    name: Name | None = None
    basic_auth: BasicAuth | None = None
    bearer_token_file: FilePath | None = None

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(
                f"remote_write url {url!r} is not an HTTP URL: start it with http:// or https://"
            )
        return url


class Profile(StrictModel):
    """Overrides applied with ``--profile NAME``: e.g. ``fast`` for demos and end-to-end tests.

    Besides durations, a profile can take a plan's *time-scaled* values down to seconds without
    editing them: ``thresholds`` (per alert name, pack alerts included), ``ranges`` (range selectors
    of alert expressions, ``10m: 20s``) and ``time_scale`` (every ``for`` and range divided by it).
    ``extends`` lays it over another profile (a built-in one too), so it says only what differs.
    """

    extends: Name | None = None
    scrape_interval: PositiveDuration | None = None
    scrape_timeout: PositiveDuration | None = None
    evaluation_interval: PositiveDuration | None = None
    for_: WaitDuration | None = Field(None, alias="for")
    target_down_for: WaitDuration | None = None
    group_wait: Duration | None = None
    group_interval: PositiveDuration | None = None
    repeat_interval: PositiveDuration | None = None
    thresholds: dict[AlertName, LevelOverride] = Field(default_factory=dict)
    ranges: dict[PositiveDuration, PositiveDuration] = Field(default_factory=dict)
    time_scale: int | None = Field(None, ge=1, le=1_000_000)


class Spec(StrictModel):
    """A whole monitoring plan. A complete example (``tocsin init`` writes a commented one)::

    version: tocsin/v1
    app: ocr-service
    labels: {environment: production}          # external labels on every series and alert
    scrape: {interval: 15s, timeout: 10s, evaluation_interval: 15s}
    stack:                                     # local components (tocsin up); all on 127.0.0.1
      state_dir: .tocsin
      prometheus: {port: 9090, retention: 15d}
      alertmanager: {port: 9093, cluster_port: 9094}
      pushgateway: {port: 9091}
      node_exporter: {enabled: false}
      receiver: {port: 9095, smtp_port: 2525}
      console: {port: 9096}
      ha: {prometheus: {port: 9190}, alertmanager: {port: 9193, cluster_port: 9194}}
      long_term: victoriametrics               # or a remote-write URL (VictoriaMetrics cluster, Mimir...)
    services:
      ocr:
        targets: ["127.0.0.1:3001"]
        metrics_path: /metrics
        labels: {team: docs}
        down: {for: 1m, priority: P1}          # the automatic TargetDown alert
    alerts:
      - name: OcrTooSlow
        expr: histogram_quantile(0.95, sum by (le) (rate(ocr_processing_duration_seconds_bucket[5m])))
        warning: "> 2"                         # one expression, two rules
        critical: "> 3"
        for: 5m
        priority: P1
        service: ocr
        runbook: https://runbooks.example.org/ocr-slow
      - name: OcrQueueSaturated
        expr: ocr_queue_size
        warning: "> 10"
        critical: "> 20"
        for: 2m
    slos:
      - name: ocr-availability
        objective: 99.5
        errors: sum(rate(ocr_documents_processed_total{status="error"}[{{window}}]))
        total: sum(rate(ocr_documents_processed_total[{{window}}]))
    receivers:
      oncall-email:
        email: {to: oncall@example.org, from: alerts@example.org, smarthost: "127.0.0.1:2525",
                require_tls: false}
      team-slack: {slack: {api_url_file: /run/secrets/slack_url, channel: "#ocr"}}
      local: {webhook: {url: "http://127.0.0.1:9095/webhook"}}
    routes:
      group_wait: 30s
      P1: {receivers: [oncall-email, team-slack], repeat_interval: 15m}
      P3: {receivers: [local], active_time_intervals: [business-hours]}
      default: [local]
    time_intervals:                            # Alertmanager's: weekdays, times, days_of_month, months...
      business-hours: {weekdays: [monday:friday], times: [{start_time: "09:00", end_time: "18:00"}],
                       location: Europe/Paris}
    dashboards:
      - title: OCR overview
        panels:
          - {title: Documents/min, kind: gauge, expr: "sum(rate(ocr_documents_processed_total[5m])) * 60",
             min: 0}
          - {title: p95 latency, kind: timeseries, unit: s, alert: OcrTooSlow,
             expr: "histogram_quantile(0.95, sum by (le) (rate(ocr_processing_duration_seconds_bucket[5m])))"}
    includes: [rules/kpi.yml]                  # raw Prometheus rule files, copied as they are
    remote_write: [{url: "https://mimir.example.org/api/v1/push"}]
    profiles:
      fast: {scrape_interval: 1s, evaluation_interval: 1s, for: 2s, group_wait: 0s}
      ci: {extends: fast, ranges: {5m: 15s}, thresholds: {OcrTooSlow: {warning: "> 0.5"}}}
    exports: [{name: docs-hourly, query: "sum(increase(ocr_documents_processed_total[1h]))", step: 1h}]
    reports: [{name: weekly, period: week, builtins: [traffic, errors, latency, slos, alerts, noise, ocr]}]
    logs:                                      # log lines -> counters (see docs/logwatch.md)
      files: [{path: logs/*.log}]
      patterns: [{name: ocr_failures, regex: 'OCR failed'}]
    packs: [{use: cache, prefix: ocr, cache: ocr}]   # a domain pack's alerts + panels (docs/packs/)
    checklist:                                 # tocsin checklist --period day (docs/operations.md)
      - {name: ocr-up, description: OCR service up all day, expr: 'min_over_time(up{job="ocr"}[$__range])',
         condition: "== 1"}
    """

    version: Literal["tocsin/v1"]
    app: Name
    labels: dict[LabelName, str] = Field(default_factory=dict)
    scrape: Scrape = Scrape()
    stack: Stack = Stack()
    services: dict[Name, Service] = Field(default_factory=dict)
    alerts: list[Alert] = Field(default_factory=list)
    slos: list[Slo] = Field(default_factory=list)
    receivers: dict[Name, Receiver] = Field(default_factory=dict)
    routes: Routes = Routes()
    time_intervals: dict[Name, TimeInterval] = Field(default_factory=dict)
    dashboards: list[Dashboard] = Field(default_factory=list)
    includes: list[FilePath] = Field(default_factory=list)
    remote_write: list[RemoteWrite] = Field(default_factory=list)
    profiles: dict[Name, Profile] = Field(default_factory=dict)
    logs: LogsSection | None = None
    packs: list[PackUse] = Field(default_factory=list)
    exports: list[Export] = Field(default_factory=list)
    reports: list[Report] = Field(default_factory=list)
    checklist: list[ChecklistItem] = Field(default_factory=list)

    # Filled by the loader: where the spec came from and the raw rule files it includes.
    _source: str = PrivateAttr(default="")
    _included: dict[str, str] = PrivateAttr(default_factory=dict)
    _profile: str | None = PrivateAttr(default=None)
    _warnings: list[Problem] = PrivateAttr(default_factory=list)
    _locator: Locator | None = PrivateAttr(default=None)
    #: the profile's range rewriting (``ranges``, ``time_scale``), for what is compiled from the spec
    #: after the alerts got it: the packs' recording rules
    _new_range: Callable[[str], str | None] | None = PrivateAttr(default=None)

    def profile_expr(self, expr: str) -> str:
        """``expr`` with the loaded profile's ``ranges``/``time_scale`` applied (unchanged without)."""
        if self._new_range is None:
            return expr
        from tocsin.spec._profiles import rewrite_ranges  # _profiles imports this module

        return rewrite_ranges(expr, self._new_range)

    @property
    def source(self) -> str:
        """Path of the spec file this was loaded from ('' when built in code)."""
        return self._source

    @property
    def included_rules(self) -> dict[str, str]:
        """Raw rule files from ``includes``: absolute path → content, read at load time."""
        return dict(self._included)

    @property
    def profile(self) -> str | None:
        """The profile applied at load time, if any."""
        return self._profile

    def alert(self, name: str) -> Alert | None:
        """The alert called ``name``, if any."""
        return next((a for a in self.alerts if a.name == name), None)

    def panel_thresholds(self, panel: Panel) -> PanelThresholds | None:
        """The lines a panel draws: its own thresholds, else those of the alert it links to."""
        if panel.thresholds is not None or panel.alert is None:
            return panel.thresholds
        alert = self.alert(panel.alert)
        if alert is None:
            return None
        levels = alert.levels()
        if not levels:
            return None
        upward = next(iter(levels.values())).upward
        return PanelThresholds(
            warning=float(levels["warning"].value) if "warning" in levels else None,
            critical=float(levels["critical"].value) if "critical" in levels else None,
            direction="above" if upward else "below",
        )
