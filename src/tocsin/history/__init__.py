"""Reading what Prometheus stored: export, reports, and alert backtests.

- :mod:`tocsin.history.export`: range queries of any length, chunked under Prometheus' point limit and
  fetched in parallel; CSV and JSON writers.
- :mod:`tocsin.history.backtest`: the spec's alerts replayed over stored samples with Prometheus' alert
  state machine, and what Alertmanager would have sent (:mod:`tocsin.history.backtest.light` for light
  processes such as the console).
- :mod:`tocsin.history.report`: day/week/month reports in HTML (inline SVG) or Markdown (PNG charts).

Times are written as people write them (:func:`parse_time`: ``24h`` ago, ``now-2h``, dates, RFC 3339).
The names below are imported on first use, so ``tocsin.history.backtest.light`` stays light.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

if typing.TYPE_CHECKING:
    from tocsin.history._times import (
        DEFAULT_CONCURRENCY,
        MAX_POINTS,
        TimeRange,
        parse_duration,
        parse_time,
        plan_chunks,
    )

__all__ = ["DEFAULT_CONCURRENCY", "MAX_POINTS", "TimeRange", "parse_duration", "parse_time", "plan_chunks"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'tocsin.history' has no attribute {name!r}")
    return getattr(importlib.import_module("tocsin.history._times"), name)
