"""The collector a multiprocess ``/metrics`` serves: all process files, merged, with constant labels.

It reuses prometheus_client's merge (exact sums for counters and histograms,
gauge modes as documented there) and adds three things: it reads under the
shared directory lock, so a scrape never sees a compaction half done; it passes
over a file another process is still creating (empty for an instant, which
prometheus_client's merge cannot read); and it stamps the constant labels of
tocsin metrics (``Metrics(constant_labels=True)``), which the per-process files
do not record.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ._files import directory_lock, resolve_directory

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

__all__ = ["MultiProcessCollector", "constant_labels_of"]


def constant_labels_of(registry: CollectorRegistry) -> dict[str, Mapping[str, str]]:
    """Metric name → constant labels, for the tocsin metrics registered in ``registry``.

    The files key series by the metric's base name (``requests`` for
    ``requests_total``), which is also the registered metric's ``_name``.
    """
    lock = getattr(registry, "_lock", None)
    collectors_by_name = getattr(registry, "_collector_to_names", {})
    if lock is None:
        collectors = list(collectors_by_name)
    else:
        with lock:
            collectors = list(collectors_by_name)
    labels: dict[str, Mapping[str, str]] = {}
    for collector in collectors:
        const = getattr(collector, "_tocsin_const_labels", None)
        name = getattr(collector, "_name", None)
        if const and isinstance(name, str):
            labels[name] = const
    return labels


class MultiProcessCollector:
    """Reads every ``*.db`` file of the multiprocess directory (live workers and compacted archives).

    ``path`` defaults to ``$PROMETHEUS_MULTIPROC_DIR``. ``constant_labels_from``
    is the registry whose tocsin metrics declare constant labels (the one the
    app creates its metrics in; prometheus_client's global registry by default).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        path: str | os.PathLike[str] | None = None,
        *,
        constant_labels_from: CollectorRegistry | None = None,
    ) -> None:
        self._path = resolve_directory(path)
        if constant_labels_from is None:
            from prometheus_client import REGISTRY

            constant_labels_from = REGISTRY
        self._labels_source = constant_labels_from
        if registry is not None:
            registry.register(self)

    @property
    def path(self) -> str:
        return str(self._path)

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.multiprocess import MultiProcessCollector as _Merger

        with directory_lock(self._path, shared=True):
            # a file another process is creating is empty for a moment (prometheus_client opens it,
            # then sizes it): it holds no value yet, and its merge would raise (a 500 for the scrape);
            # files are never shrunk back to 0, and compaction, which deletes, waits for this lock
            files = [f for f in glob.glob(os.path.join(self._path, "*.db")) if os.path.getsize(f) > 0]
            families = list(_Merger.merge(files, accumulate=True))  # type: ignore[no-untyped-call]
        stamps = constant_labels_of(self._labels_source)
        if stamps:
            for family in families:
                const = stamps.get(family.name)
                if const:
                    family.samples = [s._replace(labels={**const, **s.labels}) for s in family.samples]
        return families
