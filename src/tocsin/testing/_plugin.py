"""pytest plugin (registered through the ``pytest11`` entry point): the ``tocsin_metrics`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tocsin.sdk.metrics import Metrics

from ._metrics import fresh_metrics


@pytest.fixture
def tocsin_metrics() -> Iterator[Metrics]:
    """A fresh, isolated :class:`~tocsin.sdk.metrics.Metrics` set as the default for one test."""
    with fresh_metrics() as metrics:
        yield metrics
