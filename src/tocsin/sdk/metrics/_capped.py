"""prometheus_client metric classes with a series cap and optional constant labels.

Why subclasses and not a wrapper: users keep the exact prometheus_client API
(``.labels()``, ``.inc()``, ``.observe()``, ``.time()``), and the hot path
(``labels()`` on a label set already seen) stays one dict look-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import prometheus_client
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

__all__ = ["OVERFLOW", "CappedCounter", "CappedGauge", "CappedHistogram", "CappedSummary"]

#: The label value every label takes in the series that collects label sets past the cap.
OVERFLOW = "overflow"


class _CappedMixin(MetricWrapperBase):
    """Folds label sets past ``_tocsin_max_series`` into one ``overflow`` series.

    The parent metric carries the cap and the drop counter; children (one per
    label set) are plain instances of the same class and never see them.
    """

    _tocsin_max_series: int = 0  # 0: no cap
    _tocsin_dropped: Any = None  # pre-resolved child of tocsin_series_dropped_total{metric}
    _tocsin_const_labels: Mapping[str, str] | None = None

    def labels(self, *labelvalues: object, **labelkwargs: object) -> Any:
        metrics = self._metrics
        if labelvalues and not labelkwargs:
            # Fast path: the str() conversion prometheus_client does, then a dict hit.
            key = tuple(v if type(v) is str else str(v) for v in labelvalues)
            child = metrics.get(key)
            if child is not None:
                return child
        elif labelkwargs and not labelvalues and len(labelkwargs) == len(self._labelnames):
            try:
                key = tuple(str(labelkwargs[name]) for name in self._labelnames)
            except KeyError:
                return super().labels(*labelvalues, **labelkwargs)  # raises the usual error
            child = metrics.get(key)
            if child is not None:
                return child
            labelvalues, labelkwargs = key, {}
        cap = self._tocsin_max_series
        if cap and len(metrics) >= cap and self._labelnames:
            if len(labelvalues or labelkwargs) != len(self._labelnames):
                return super().labels(*labelvalues, **labelkwargs)  # raises the usual error
            if self._tocsin_dropped is not None:
                self._tocsin_dropped.inc()
            return super().labels(*([OVERFLOW] * len(self._labelnames)))
        return super().labels(*labelvalues, **labelkwargs)

    def collect(self) -> Iterable[Metric]:
        families = super().collect()
        const = self._tocsin_const_labels
        if not const:
            return families
        for family in families:
            family.samples = [s._replace(labels={**const, **s.labels}) for s in family.samples]
        return families


class CappedCounter(_CappedMixin, prometheus_client.Counter):
    """A :class:`prometheus_client.Counter` with a series cap."""


class CappedGauge(_CappedMixin, prometheus_client.Gauge):
    """A :class:`prometheus_client.Gauge` with a series cap."""


class CappedHistogram(_CappedMixin, prometheus_client.Histogram):
    """A :class:`prometheus_client.Histogram` with a series cap."""


class CappedSummary(_CappedMixin, prometheus_client.Summary):
    """A :class:`prometheus_client.Summary` with a series cap."""
