"""Times and ranges as people write them: ``24h`` (ago), ``now-7d``, ``2025-01-06``, RFC 3339, Unix seconds.

Prometheus' own API takes only RFC 3339 or Unix seconds (seed 000's ``start=24h`` is rejected with
``bad_data``); these helpers turn what a person types into the Unix seconds the API wants, and say
exactly what is wrong when they cannot.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tocsin.errors import UsageError
from tocsin.spec import duration_seconds, format_duration

__all__ = ["DEFAULT_CONCURRENCY", "MAX_POINTS", "TimeRange", "parse_duration", "parse_time", "plan_chunks"]

#: Prometheus rejects a range query when (end - start) / step exceeds this (promql/engine, api/v1).
MAX_POINTS = 11_000
#: Range requests in flight at once. Prometheus runs each on its own goroutine; more than a few per
#: core only queue up on its side.
DEFAULT_CONCURRENCY = 8

_NOW_RE = re.compile(r"^now(?:\s*-\s*(\S+))?$")


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds in ``5m`` / ``1h30m`` / ``90`` (plain seconds); UsageError naming ``what`` otherwise."""
    text = text.strip()
    try:
        return float(text) if re.fullmatch(r"\d+(?:\.\d+)?", text) else duration_seconds(text)
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a duration (write e.g. 30s, 5m, 1h, 7d)") from None


def parse_time(text: str, now: float | None = None, what: str = "time") -> float:
    """Unix seconds for a relative (``24h`` = 24 hours ago, ``now``, ``now-2h``) or absolute time
    (RFC 3339 / ISO 8601, a date meaning its midnight UTC, or Unix seconds)."""
    now = time.time() if now is None else now
    text = text.strip()
    match = _NOW_RE.match(text)
    if match:
        return now - (parse_duration(match.group(1), what) if match.group(1) else 0.0)
    if re.fullmatch(r"\d{9,}(?:\.\d+)?", text):
        return float(text)
    try:
        return now - duration_seconds(text)
    except ValueError:
        pass
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).timestamp()
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{what} {text!r} is neither a duration ago (24h, 7d), now-<duration>, a date (2025-01-06),"
            " RFC 3339 (2025-01-06T08:00:00Z) nor Unix seconds"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass(frozen=True)
class TimeRange:
    """``start`` to ``end`` (Unix seconds, both included) every ``step`` seconds, as query_range reads it."""

    start: float
    end: float
    step: float

    def __post_init__(self) -> None:
        if not (self.step > 0 and math.isfinite(self.step)):
            raise UsageError(f"step {self.step!r} must be a positive number of seconds")
        if self.end < self.start:
            raise UsageError(
                f"the range ends ({_iso(self.end)}) before it starts ({_iso(self.start)}): swap them"
            )

    @property
    def points(self) -> int:
        """Evaluation steps in the range: start, start + step, ... up to end."""
        return int((self.end - self.start) // self.step) + 1

    def describe(self) -> str:
        return f"{_iso(self.start)} → {_iso(self.end)} every {format_duration(self.step)}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def plan_chunks(span: TimeRange, *, max_points: int = MAX_POINTS, min_chunks: int = 1) -> list[TimeRange]:
    """Consecutive, non-overlapping sub-ranges on the same step grid, each under Prometheus' limit.

    ``min_chunks`` splits further so that that many requests can run at once. Every step of ``span``
    lies in exactly one chunk: chunk ``i + 1`` starts one step after chunk ``i`` ends.
    """
    if max_points < 1:
        raise UsageError("max_points must be at least 1")
    total = span.points
    per_chunk = min(max_points, max(1, math.ceil(total / max(1, min_chunks))))
    chunks: list[TimeRange] = []
    for first in range(0, total, per_chunk):
        last = min(first + per_chunk, total) - 1
        chunks.append(TimeRange(span.start + first * span.step, span.start + last * span.step, span.step))
    return chunks
