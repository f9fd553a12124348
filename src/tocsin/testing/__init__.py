"""Helpers for testing code instrumented with tocsin.

- :func:`fresh_metrics`: an isolated registry set as the default for a block;
  the pytest fixture ``tocsin_metrics`` does the same per test.
- :func:`sample_value` / :func:`samples`: read what a registry would expose.
- :func:`capture_logs`: the log events of a block, as dicts, structlog's and the standard library's.
"""

from __future__ import annotations

from ._logs import capture_logs
from ._metrics import fresh_metrics, sample_value, samples

__all__ = ["capture_logs", "fresh_metrics", "sample_value", "samples"]
