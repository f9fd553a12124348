"""What every pack shares: metric naming under a namespace, and label children cached per label set.

A pack's metric is ``<prefix>_<namespace>_<name>``: the prefix is the
:class:`~tocsin.sdk.metrics.Metrics` factory's (``configure(prefix="kpi")``),
the namespace the pack's own (``etl``, ``websocket``, ...; ``""`` drops it).
Seed 001's ``kpi_etl_quality_score`` is ``Etl()`` under ``prefix="kpi"``; seed
000's ``ocr_queue_size`` is ``Queue()`` (namespace ``""``) under ``prefix="ocr"``.

Hot calls take label values and look their child up in a plain dict keyed by
the values' tuple (one C call), cheaper than ``metric.labels(...)``. The dict
stops growing at :data:`MAX_CACHED` entries: past it, values go through
``labels()`` every time, where the series cap folds them into ``overflow``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.errors import ConfigurationError
from tocsin.sdk.metrics import CappedCounter, CappedGauge, CappedHistogram, Metrics, get_metrics

__all__ = ["MAX_CACHED", "PackMetrics", "child"]

#: Label sets a pack remembers the child of; more go through ``labels()`` (and the series cap).
MAX_CACHED = 1000

_NAMESPACE_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$|^$")


def child(cache: dict[Any, Any], metric: Any, key: Any, values: tuple[Any, ...] | None = None) -> Any:
    """The child of ``metric`` for label ``values`` (default: ``key``, a tuple), remembered in
    ``cache`` under ``key`` while the cache is small.

    Called on a cache miss; the hot path is ``cache.get(key)``.
    """
    found = metric.labels(*(key if values is None else values))
    if len(cache) < MAX_CACHED:
        cache[key] = found
    return found


class PackMetrics:
    """A pack's metric factory: the namespace on top of a :class:`Metrics` (default: the process-wide one)."""

    def __init__(
        self,
        namespace: str,
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        namespace = namespace.strip("_")
        if not _NAMESPACE_RE.match(namespace):
            raise ConfigurationError(
                f"pack namespace {namespace!r} is not a valid metric name part (letters, digits, '_')"
            )
        self.namespace = namespace
        self.factory = metrics if metrics is not None else get_metrics()
        self.registry = registry if registry is not None else self.factory.registry

    def name(self, name: str) -> str:
        """The full metric name of the pack's ``name`` (prefix, namespace, name)."""
        return self.factory.name(f"{self.namespace}_{name}" if self.namespace else name)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> CappedCounter:
        return self.factory.counter(self._local(name), documentation, labels, registry=self.registry)

    def gauge(
        self, name: str, documentation: str, labels: Sequence[str] = (), *, multiprocess_mode: str = "all"
    ) -> CappedGauge:
        return self.factory.gauge(
            self._local(name),
            documentation,
            labels,
            registry=self.registry,
            multiprocess_mode=multiprocess_mode,
        )

    def histogram(
        self, name: str, documentation: str, labels: Sequence[str] = (), *, buckets: Iterable[float]
    ) -> CappedHistogram:
        return self.factory.histogram(
            self._local(name), documentation, labels, buckets=buckets, registry=self.registry
        )

    def _local(self, name: str) -> str:
        return f"{self.namespace}_{name}" if self.namespace else name


def check_label_name(label: str, what: str) -> str:
    """``label`` if it is a valid Prometheus label name, else a ConfigurationError naming ``what``."""
    if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", label) or label.startswith("__"):
        raise ConfigurationError(f"{what} {label!r} is not a valid label name (letters, digits and '_')")
    return label


def check_name_part(part: str, what: str) -> str:
    """``part`` if it can go into a metric name, else a ConfigurationError naming ``what``."""
    if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", part):
        raise ConfigurationError(f"{what} {part!r} cannot go into a metric name (letters, digits and '_')")
    return part
