"""The spec's ``exports:`` and ``reports:`` sections: named range queries, and periodic reports.

::

    exports:
      - name: documents-hourly                 # tocsin export --spec-export documents-hourly
        query: sum(increase(ocr_documents_processed_total[1h]))
        since: 7d
        step: 1h
        format: csv
    reports:
      - name: weekly                           # tocsin report weekly (--period overrides)
        title: OCR weekly report
        period: week
        builtins: [traffic, errors, latency, slos, alerts, noise, ocr]
        sections:
          - title: Documents
            dashboard: ocr-overview            # every panel of that dashboard, or:
            panels:                            # the dashboard Panel model (stat, gauge, timeseries, ...)
              - title: Documents processed
                kind: stat
                expr: sum(increase(ocr_documents_processed_total[$__range]))

In a report panel's expression ``$__range`` is the report's period (``7d`` for a week), as in Grafana.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from tocsin.errors import UsageError
from tocsin.spec._dashboards import Panel
from tocsin.spec._promql import PromQL, parse_promql
from tocsin.spec._types import Name, PositiveDuration, StrictModel

if TYPE_CHECKING:
    from tocsin.spec._model import Spec

__all__ = [
    "BUILTIN_SECTIONS",
    "Export",
    "Report",
    "ReportPanel",
    "ReportSection",
    "check_report_references",
    "find_export",
    "find_report",
]

#: Sections every report can include by name, computed from the spec itself and what Prometheus and
#: the receiver stored: traffic/errors/latency per service, SLOs, alerts fired, alert noise, seed 000's
#: weekly OCR items, seed 003's completeness and duplicates review.
BUILTIN_SECTIONS = ("traffic", "errors", "latency", "slos", "alerts", "noise", "ocr", "orders", "checklist")
_RANGE_RE = re.compile(r"\$__range\b")


def _report_query(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a PromQL expression (a non-empty string) is required")
    text = " ".join(value.split())
    parse_promql(_RANGE_RE.sub("1d", text))
    return text


#: PromQL in which ``$__range`` stands for the report's period.
ReportQuery = Annotated[str, BeforeValidator(_report_query)]


class Export(StrictModel):
    """A named range query for ``tocsin export --spec-export NAME``."""

    name: Name
    query: PromQL
    since: str = "24h"
    until: str = "now"
    step: PositiveDuration = "1m"
    format: Literal["csv", "json"] = "csv"


class ReportPanel(Panel):
    """A dashboard panel whose expression may use ``$__range`` (the report's period)."""

    expr: ReportQuery  # type: ignore[assignment]


class ReportSection(StrictModel):
    """A titled group of panels: the spec's own, and/or every panel of one dashboard (by uid or slug)."""

    title: str
    text: str | None = None
    dashboard: str | None = None
    panels: list[ReportPanel] = Field(default_factory=list)


class Report(StrictModel):
    """A report: built-in sections by name, then the spec's own sections."""

    name: Name
    title: str | None = None
    period: Literal["day", "week", "month"] = "week"
    builtins: list[str] = Field(
        default_factory=lambda: ["traffic", "errors", "latency", "slos", "alerts", "noise", "checklist"]
    )
    sections: list[ReportSection] = Field(default_factory=list)
    #: Settings of the built-ins: ``http_prefix`` (traffic, errors, latency: the apps' metric prefixes,
    #: comma-separated, "-" for none; found in Prometheus when absent),
    #: ``cost_per_hour`` (ocr: what the cache saves), ``ocr_prefix``, ``items``
    #: and ``done`` (orders: the batch-jobs pack's names, default ``orders`` and ``archived``).
    params: dict[str, str | float] = Field(default_factory=dict)

    @field_validator("builtins")
    @classmethod
    def _known(cls, builtins: list[str]) -> list[str]:
        for name in builtins:
            if name not in BUILTIN_SECTIONS:
                raise ValueError(f"unknown built-in section {name!r}: use {', '.join(BUILTIN_SECTIONS)}")
        return builtins


def check_report_references(spec: Spec) -> Iterable[tuple[tuple[str | int, ...], str, str]]:
    """A report section's ``dashboard:`` names one of the spec's dashboards."""
    slugs = [d.slug for d in spec.dashboards]
    for r, report in enumerate(spec.reports):
        for s, section in enumerate(report.sections):
            if section.dashboard is not None and section.dashboard not in slugs:
                yield (
                    ("reports", r, "sections", s, "dashboard"),
                    f"no dashboard {section.dashboard!r}",
                    f"use one of: {', '.join(slugs) or 'no dashboards declared'}",
                )


def _named(items: list[Any], name: str, what: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    known = ", ".join(i.name for i in items) or "none declared"
    raise UsageError(f"no {what} named {name!r} in the spec ({what}s: {known})")


def find_export(spec: Spec, name: str) -> Export:
    """The export called ``name``; UsageError listing the declared ones otherwise."""
    return _named(list(spec.exports), name, "export")  # type: ignore[no-any-return]


def find_report(spec: Spec, name: str) -> Report:
    """The report called ``name``; UsageError listing the declared ones otherwise."""
    return _named(list(spec.reports), name, "report")  # type: ignore[no-any-return]
