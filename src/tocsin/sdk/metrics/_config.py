"""Metric identity, naming and factories: :func:`configure` and :class:`Metrics`.

Identity (app, version, environment, instance) goes into a ``target_info``
metric by default, the Prometheus/OpenMetrics practice that keeps every series
small; ``constant_labels=True`` stamps it on every series instead, as some
plans (seed 001) ask.

There is one process-wide default :class:`Metrics`, set by :func:`configure`.
Because a metric bound to an old configuration would silently miss a new one
(the structlog #400 trap), :func:`configure` refuses to run after metrics were
created from an unconfigured default; call it first, at start-up.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import prometheus_client
from prometheus_client import CollectorRegistry

from tocsin.errors import ConfigurationError

from ._capped import CappedCounter, CappedGauge, CappedHistogram, CappedSummary, _CappedMixin

__all__ = [
    "DEFAULT_MAX_SERIES",
    "Identity",
    "Metrics",
    "clear_metrics",
    "configure",
    "counter",
    "gauge",
    "get_metrics",
    "histogram",
    "summary",
]

#: Series a labelled metric may have before new label sets fold into ``overflow``.
DEFAULT_MAX_SERIES = 2000

_PREFIX_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Prometheus 2.x names; prometheus_client >= 0.21 also accepts UTF-8 names that 2.x cannot scrape.
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_M = TypeVar("_M", bound=_CappedMixin)


@dataclass(frozen=True)
class Identity:
    """Who is exposing the metrics: the labels of ``target_info`` (or of every series)."""

    app: str
    version: str = "unknown"
    environment: str = "development"
    instance: str = field(default_factory=socket.gethostname)

    def as_labels(self) -> dict[str, str]:
        return {
            "app": self.app,
            "version": self.version,
            "environment": self.environment,
            "instance": self.instance,
        }


_dropped_counters: weakref.WeakKeyDictionary[CollectorRegistry, CappedCounter] = weakref.WeakKeyDictionary()
_dropped_lock = threading.Lock()


def _dropped_counter(registry: CollectorRegistry) -> CappedCounter:
    """One ``tocsin_series_dropped_total{metric}`` per registry, created on first need."""
    with _dropped_lock:
        existing = _dropped_counters.get(registry)
        if existing is None:
            existing = CappedCounter(
                "tocsin_series_dropped_total",
                "Observations folded into the overflow series because the metric hit its series cap.",
                ["metric"],
                registry=registry,
            )
            _dropped_counters[registry] = existing
        return existing


_known: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, _CappedMixin]] = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()


def _known_on(registry: CollectorRegistry) -> dict[str, _CappedMixin]:
    """The metrics tocsin made on ``registry``, by full name, whichever factory made them."""
    found = _known.get(registry)
    if found is None:
        found = _known[registry] = {}
    return found


class Metrics:
    """A metric factory bound to one registry, prefix and identity.

    Factories are get-or-create, per registry: asking twice for the same name with
    the same type and labels returns the same metric, also from another factory on
    the same registry (an app factory calling :func:`configure` for each app, one
    app per test, reloaders); asking with a different type, labels, buckets or
    constant labels is an error that says so.
    """

    def __init__(
        self,
        identity: Identity | None = None,
        *,
        prefix: str | None = None,
        registry: CollectorRegistry | None = None,
        constant_labels: bool = False,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        if prefix is not None:
            prefix = prefix.rstrip("_")
            if not _PREFIX_RE.match(prefix):
                raise ConfigurationError(
                    f"metric prefix {prefix!r} is not a valid Prometheus name "
                    "(use letters, digits and underscores, not starting with a digit)"
                )
        if max_series < 0:
            raise ConfigurationError(f"max_series must be >= 0 (0 disables the cap), got {max_series}")
        if constant_labels and identity is None:
            raise ConfigurationError("constant_labels=True needs an identity (call configure(app=...))")
        self.identity = identity
        self.prefix = prefix
        self.registry: CollectorRegistry = registry if registry is not None else prometheus_client.REGISTRY
        self.constant_labels = constant_labels
        self.max_series = max_series
        self._created: dict[str, _CappedMixin] = {}
        self._lock = threading.Lock()
        if identity is not None:
            self.registry.set_target_info(identity.as_labels())

    def name(self, name: str) -> str:
        """The full metric name: ``name`` with the prefix, unless it already has it."""
        if self.prefix and not name.startswith(self.prefix + "_"):
            return f"{self.prefix}_{name}"
        return name

    def counter(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        unit: str = "",
        registry: CollectorRegistry | None = None,
        max_series: int | None = None,
    ) -> CappedCounter:
        """A counter; ``name`` should end in ``_total`` (added by prometheus_client otherwise)."""
        return self._make(CappedCounter, name, documentation, labelnames, unit, registry, max_series)

    def gauge(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        unit: str = "",
        registry: CollectorRegistry | None = None,
        max_series: int | None = None,
        multiprocess_mode: str = "all",
    ) -> CappedGauge:
        """A gauge; ``multiprocess_mode`` is prometheus_client's (see docs/metrics.md)."""
        return self._make(
            CappedGauge,
            name,
            documentation,
            labelnames,
            unit,
            registry,
            max_series,
            multiprocess_mode=multiprocess_mode,
        )

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Iterable[float] = prometheus_client.Histogram.DEFAULT_BUCKETS,
        unit: str = "",
        registry: CollectorRegistry | None = None,
        max_series: int | None = None,
    ) -> CappedHistogram:
        """A histogram (seconds by default: name it ``*_seconds``)."""
        return self._make(
            CappedHistogram,
            name,
            documentation,
            labelnames,
            unit,
            registry,
            max_series,
            buckets=tuple(buckets),
        )

    def summary(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        unit: str = "",
        registry: CollectorRegistry | None = None,
        max_series: int | None = None,
    ) -> CappedSummary:
        """A summary (count and sum; prometheus_client computes no quantiles)."""
        return self._make(CappedSummary, name, documentation, labelnames, unit, registry, max_series)

    def clear(self) -> None:
        """Unregister every metric this factory created (seed 001's ``clearMetrics()``, for tests)."""
        with _known_lock, self._lock:
            created, self._created = self._created, {}
            for metric in created.values():
                registry = getattr(metric, "_tocsin_registry", self.registry)
                known = _known.get(registry)
                name = getattr(metric, "_tocsin_name", None)
                if known is not None and name is not None and known.get(name) is metric:
                    del known[name]
        for metric in created.values():
            registry = getattr(metric, "_tocsin_registry", self.registry)
            with contextlib.suppress(KeyError):
                registry.unregister(metric)

    def _make(
        self,
        cls: type[_M],
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        unit: str,
        registry: CollectorRegistry | None,
        max_series: int | None,
        **kwargs: Any,
    ) -> _M:
        full = self.name(name)
        _check_names(full, labelnames)
        target = registry if registry is not None else self.registry
        labelnames = tuple(labelnames)
        key = f"{id(target)}:{full}"
        const_labels = self.identity.as_labels() if self.constant_labels and self.identity else None
        with _known_lock, self._lock:
            known = _known_on(target)
            existing = known.get(full)
            if existing is not None:
                _check_same(existing, full, cls, labelnames, const_labels, kwargs.get("buckets"))
                self._created[key] = existing
                return existing  # type: ignore[return-value]
            try:
                metric = cls(full, documentation, labelnames, unit=unit, registry=target, **kwargs)
            except ValueError as err:
                raise ConfigurationError(
                    f"metric {full!r}: {err} (another library or code outside tocsin registered it on "
                    "this registry: use another name, or pass registry= to keep them apart)"
                ) from None
            cap = self.max_series if max_series is None else max_series
            if labelnames and cap:
                metric._tocsin_max_series = cap
                metric._tocsin_dropped = _dropped_counter(target).labels(full)
            if self.constant_labels and self.identity is not None:
                clash = set(labelnames) & set(self.identity.as_labels())
                if clash:
                    raise ConfigurationError(
                        f"metric {full!r}: label(s) {sorted(clash)} clash with the constant labels"
                    )
                metric._tocsin_const_labels = self.identity.as_labels()
            metric._tocsin_registry = target  # type: ignore[attr-defined]
            metric._tocsin_name = full  # type: ignore[attr-defined]
            self._created[key] = metric
            known[full] = metric
            return metric


def _check_same(
    existing: _CappedMixin,
    full: str,
    cls: type,
    labelnames: tuple[str, ...],
    const_labels: dict[str, str] | None,
    buckets: Sequence[float] | None,
) -> None:
    """``existing`` must be what is asked for again, or the caller would silently get another metric."""
    asked = f"{cls.__name__}{list(labelnames)}"
    if type(existing) is not cls or tuple(existing._labelnames) != labelnames:
        raise ConfigurationError(
            f"metric {full!r} already exists as {type(existing).__name__}"
            f"{list(existing._labelnames)}; asked again as {asked} (give one of them another name)"
        )
    had = getattr(existing, "_tocsin_const_labels", None)
    if had != const_labels:
        raise ConfigurationError(
            f"metric {full!r} already exists with constant labels {had}; asked again with {const_labels} "
            "(configure() was called again with another identity on the same registry: call it with "
            "the same arguments for every app of the process, or give each app its own "
            "registry=CollectorRegistry())"
        )
    bounds = getattr(existing, "_upper_bounds", None)
    if buckets is not None and bounds is not None and list(bounds) != _with_inf(buckets):
        raise ConfigurationError(
            f"metric {full!r} already exists with buckets {list(bounds)[:-1]}; asked again with "
            f"{list(buckets)} (use the same buckets, or another name)"
        )


def _with_inf(buckets: Sequence[float]) -> list[float]:
    bounds = [float(b) for b in buckets]
    return bounds if bounds and bounds[-1] == float("inf") else [*bounds, float("inf")]


def _check_names(name: str, labelnames: Sequence[str]) -> None:
    if not _METRIC_NAME_RE.match(name):
        raise ConfigurationError(
            f"metric {name!r}: not a valid Prometheus metric name (letters, digits, '_' and ':')"
        )
    for label in labelnames:
        if not _LABEL_NAME_RE.match(label) or label.startswith("__"):
            raise ConfigurationError(
                f"metric {name!r}: label {label!r} is not a valid label name "
                "(letters, digits and '_', not starting with '__')"
            )


_default: Metrics | None = None
_default_lock = threading.Lock()


def configure(
    app: str,
    version: str = "unknown",
    environment: str = "development",
    instance: str | None = None,
    *,
    prefix: str | None = None,
    registry: CollectorRegistry | None = None,
    constant_labels: bool = False,
    max_series: int = DEFAULT_MAX_SERIES,
) -> Metrics:
    """Set the process-wide metric identity, prefix and registry; returns the factory.

    Call once, at start-up, before any metric is created through the
    module-level factories.
    """
    global _default
    identity = Identity(
        app=app,
        version=version,
        environment=environment,
        instance=instance if instance is not None else socket.gethostname(),
    )
    with _default_lock:
        if _default is not None and _default.identity is None and _default._created:
            raise ConfigurationError(
                "configure() was called after metrics were created with the unconfigured default; "
                "call tocsin.sdk.metrics.configure() first, at start-up"
            )
        _default = Metrics(
            identity,
            prefix=prefix,
            registry=registry,
            constant_labels=constant_labels,
            max_series=max_series,
        )
        return _default


def get_metrics() -> Metrics:
    """The default factory: the one :func:`configure` made, or a bare one on the global registry."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Metrics()
        return _default


def _reset_default(metrics: Metrics | None = None) -> Metrics | None:
    """Swap the default factory (``tocsin.testing`` uses it); returns the previous one."""
    global _default
    with _default_lock:
        previous, _default = _default, metrics
        return previous


def counter(name: str, documentation: str, labelnames: Sequence[str] = (), **kw: Any) -> CappedCounter:
    """A counter from the default factory (see :meth:`Metrics.counter`)."""
    return get_metrics().counter(name, documentation, labelnames, **kw)


def gauge(name: str, documentation: str, labelnames: Sequence[str] = (), **kw: Any) -> CappedGauge:
    """A gauge from the default factory (see :meth:`Metrics.gauge`)."""
    return get_metrics().gauge(name, documentation, labelnames, **kw)


def histogram(name: str, documentation: str, labelnames: Sequence[str] = (), **kw: Any) -> CappedHistogram:
    """A histogram from the default factory (see :meth:`Metrics.histogram`)."""
    return get_metrics().histogram(name, documentation, labelnames, **kw)


def summary(name: str, documentation: str, labelnames: Sequence[str] = (), **kw: Any) -> CappedSummary:
    """A summary from the default factory (see :meth:`Metrics.summary`)."""
    return get_metrics().summary(name, documentation, labelnames, **kw)


def clear_metrics() -> None:
    """Unregister every metric the default factory created (for tests)."""
    get_metrics().clear()
