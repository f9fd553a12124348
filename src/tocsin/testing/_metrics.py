"""Metric helpers for users' own tests: an isolated registry and a sample reader."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.metrics._config import _reset_default

__all__ = ["fresh_metrics", "sample_value", "samples"]


@contextmanager
def fresh_metrics(**configure: Any) -> Iterator[Metrics]:
    """A new :class:`Metrics` on its own :class:`CollectorRegistry`, set as the default for the block.

    Keyword arguments are those of :class:`Metrics` (``prefix``, ``constant_labels``, ...)
    plus ``app``/``version``/``environment``/``instance`` for the identity.
    """
    from tocsin.sdk.metrics import Identity

    identity_keys = {"app", "version", "environment", "instance"}
    identity_args = {k: configure.pop(k) for k in list(configure) if k in identity_keys}
    identity = Identity(**identity_args) if identity_args else None
    metrics = Metrics(identity, registry=CollectorRegistry(), **configure)
    previous = _reset_default(metrics)
    try:
        yield metrics
    finally:
        _reset_default(previous)


def sample_value(
    registry: CollectorRegistry | Metrics,
    name: str,
    labels: Mapping[str, str] | None = None,
) -> float | None:
    """The value of sample ``name`` with exactly ``labels`` (subset match), or ``None``.

    ``name`` is the sample name as exposed (``http_requests_total``,
    ``..._bucket``, ``..._count``). Unlike ``CollectorRegistry.get_sample_value``
    the asked labels are a subset: constant labels need not be repeated. More
    than one matching series is an error, so a too-loose question cannot pass.
    """
    found = [value for sample_labels, value in samples(registry, name) if _matches(sample_labels, labels)]
    if not found:
        return None
    if len(found) > 1:
        raise AssertionError(
            f"sample_value({name!r}, {dict(labels or {})}) matches {len(found)} series; give more labels"
        )
    return found[0]


def samples(registry: CollectorRegistry | Metrics, name: str) -> list[tuple[dict[str, str], float]]:
    """Every ``(labels, value)`` of sample ``name``."""
    reg = registry.registry if isinstance(registry, Metrics) else registry
    out: list[tuple[dict[str, str], float]] = []
    for family in reg.collect():
        for sample in family.samples:
            if sample.name == name:
                out.append((dict(sample.labels), sample.value))
    return out


def _matches(sample_labels: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    return all(sample_labels.get(k) == v for k, v in (wanted or {}).items())
