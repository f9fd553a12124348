"""tocsin's own metrics (health, log counters): fixed names on the user's registry.

Alert rules refer to ``tocsin_health_check_up`` and ``log_messages_total`` by
name, so these never take the application's prefix; they do take its registry,
series cap and constant labels. One factory per registry, so building several
runners (or reconfiguring logging in tests) reuses the metrics instead of
registering them twice.
"""

from __future__ import annotations

import threading
import weakref

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics, get_metrics

__all__ = ["own_metrics"]

_factories: weakref.WeakKeyDictionary[CollectorRegistry, Metrics] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def own_metrics(source: Metrics | None = None) -> Metrics:
    """An unprefixed factory on the registry of ``source`` (default: the configured default factory)."""
    source = source if source is not None else get_metrics()
    with _lock:
        factory = _factories.get(source.registry)
        if factory is None:
            factory = Metrics(
                source.identity if source.constant_labels else None,
                registry=source.registry,
                constant_labels=source.constant_labels,
                max_series=source.max_series,
            )
            _factories[source.registry] = factory
        return factory
