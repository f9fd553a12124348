"""Numbers in the words a person reads in a table: ``23h 10m``, ``99.2 %``, ``1.4 GiB``."""

from __future__ import annotations

import math

__all__ = ["format_bytes", "format_seconds", "format_value"]


def format_seconds(seconds: float) -> str:
    """``0.25 s``, ``42 s``, ``5m 3s``, ``23h 10m``, ``3d 4h``."""
    if seconds < 0:
        return "-" + format_seconds(-seconds)
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"


def format_bytes(count: float) -> str:
    """``512 B``, ``1.5 KiB``, ``3.2 GiB``."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_value(value: str | float, unit: str | None = None) -> str:
    """A sample value as text, in the panel unit it is declared with (``s``, ``bytes``, ``percentunit``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if unit == "s":
        return format_seconds(number)
    if unit == "ms":
        return format_seconds(number / 1000)
    if unit in ("bytes", "decbytes"):
        return format_bytes(number)
    if unit == "percentunit":
        return f"{number * 100:.4g} %"
    if unit == "percent":
        return f"{number:.4g} %"
    if unit == "dateTimeAsIso":
        import time

        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(number))
    return f"{number:.6g}"
