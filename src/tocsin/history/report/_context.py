"""What report sections read through: instant values at the end of the range, and charts over it."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tocsin.history._times import TimeRange
from tocsin.history.export import fetch_range
from tocsin.history.report._doc import Chart, ChartSeries
from tocsin.promapi import AsyncPrometheusAPI, PrometheusAPIError
from tocsin.spec import Spec, format_duration

__all__ = ["PERIODS", "Context", "legend"]

#: Report periods and their length in seconds.
PERIODS: dict[str, int] = {"day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400}
_CHART_STEPS = {"day": 300, "week": 3600, "month": 6 * 3600}
_TEMPLATE_RE = re.compile(r"\{\{\s*\.?([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def legend(labels: Mapping[str, str], template: str | None = None) -> str:
    """``{{job}}`` templates as Grafana fills them; else the labels that are not the metric name."""
    if template:
        return _TEMPLATE_RE.sub(lambda m: labels.get(m.group(1), ""), template)
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if not shown:
        return labels.get("__name__", "value")
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


@dataclass
class Context:
    """One report's reading state: the API, the range, and every problem met (a failed query does not
    stop the report; it is listed at its end and the command exits 1)."""

    api: AsyncPrometheusAPI
    spec: Spec
    period: str
    start: float
    end: float
    notifications: list[dict[str, Any]] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: the applications' HTTP metric prefixes ("" = tocsin's plain names), set before the sections run
    http_prefixes: tuple[str, ...] = ("",)
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))

    @property
    def range(self) -> str:
        """The period as a PromQL duration (``7d``), what ``$__range`` becomes."""
        return format_duration(self.end - self.start)

    def fill(self, expr: str) -> str:
        return expr.replace("$__range", self.range)

    async def instant(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """``expr`` at the end of the range: (labels, value) per series; [] (and a problem) on error."""
        query = self.fill(expr)
        try:
            async with self.gate:
                result = await self.api.query(query, self.end)
        except PrometheusAPIError as err:
            if not err.error_type:  # unreachable: the whole report fails
                raise
            self.problems.append(f"{query}: {str(err).rsplit(': ', 1)[-1]}")
            return []
        if result and "metric" not in result[0]:  # a scalar
            return []
        return [(r["metric"], float(r["value"][1])) for r in result]

    async def value(self, expr: str) -> float | None:
        """The sum of ``expr``'s values at the end (None when it returns nothing or NaN)."""
        values = [v for _, v in await self.instant(expr) if not math.isnan(v)]
        return sum(values) if values else None

    async def chart(
        self,
        title: str,
        expr: str,
        *,
        unit: str = "short",
        kind: str = "timeseries",
        template: str | None = None,
        warning: float | None = None,
        critical: float | None = None,
        step: float | None = None,
    ) -> Chart:
        query = self.fill(expr)
        default = _CHART_STEPS.get(self.period) or max(60.0, (self.end - self.start) / 200)
        every = step if step else float(default)
        span = TimeRange(self.end - math.floor((self.end - self.start) / every) * every, self.end, every)
        try:
            series = await fetch_range(self.api, query, span, gate=self.gate)
        except PrometheusAPIError as err:
            if not err.error_type:
                raise
            self.problems.append(f"{query}: {str(err).rsplit(': ', 1)[-1]}")
            series = []
        return Chart(
            title,
            [
                ChartSeries(legend(s.labels, template), [(float(t), float(v)) for t, v in s.points])
                for s in series
            ],
            unit=unit,
            kind=kind,
            warning=warning,
            critical=critical,
        )

    def services(self) -> Sequence[str]:
        return list(self.spec.services)
