"""Time ranges as Grafana writes them (``now-6h`` .. ``now``), shared by the console and ``tocsin top``."""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

__all__ = ["RANGES", "choose_step", "parse_time", "seconds"]

#: the picker's presets, shortest first
RANGES = ("5m", "15m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "30d")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_REL = re.compile(r"^now(?:-(\d+)([smhdwy]))?$")
_NICE = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_POINTS = 11000  # Prometheus refuses more points per series


def seconds(text: str) -> float:
    """``6h`` → 21600.0; ValueError if it is not a duration of one unit."""
    match = re.fullmatch(r"(\d+)([smhdwy])", text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 6h")
    return int(match.group(1)) * _UNIT[match.group(2)]


def parse_time(text: str, now: float | None = None) -> float:
    """``now``, ``now-6h``, Unix seconds or an ISO date/time (local) → Unix seconds."""
    now = time.time() if now is None else now
    text = text.strip()
    match = _REL.match(text)
    if match:
        return now - (int(match.group(1)) * _UNIT[match.group(2)] if match.group(1) else 0)
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(value):
            return value / 1000 if value > 1e11 else value  # Grafana URLs carry milliseconds
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ValueError(f"{text!r} is not a time (now, now-6h, a Unix time or 2026-01-31T12:00)") from None


def choose_step(start: float, end: float, width: int, min_step: float) -> float:
    """One point per pixel of the panel, never finer than the scrape interval, on a round step."""
    span = max(end - start, 1.0)
    raw = max(span / max(width, 10), min_step, span / MAX_POINTS)
    return float(next((n for n in _NICE if n >= raw), math.ceil(raw / 86400) * 86400))
