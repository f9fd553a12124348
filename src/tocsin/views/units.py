"""Values in the panel's unit (Grafana's unit ids), as ``tocsin top`` prints them.

The console formats the same units in the browser (``static/console.js``, ``fmt``); the tests check
both agree on the same table of cases.
"""

from __future__ import annotations

import math
from datetime import datetime

__all__ = ["format_value"]

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_IEC = ((2**50, "PiB"), (2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))
_SUFFIX = {"reqps": " req/s", "rps": " req/s", "ops": " ops/s", "cps": " c/s", "wps": " wr/s", "rpm": " rpm"}


def _num(value: float) -> str:
    """Three significant digits, no exponent for everyday magnitudes."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    if magnitude >= 0.01:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def _short(value: float) -> str:
    for size, prefix in _SI:
        if abs(value) >= size:
            return _num(value / size) + prefix
    return _num(value)


def _duration(value: float) -> str:
    magnitude = abs(value)
    if magnitude == 0:
        return "0s"
    if magnitude < 1e-6:
        return _num(value * 1e9) + " ns"
    if magnitude < 1e-3:
        return _num(value * 1e6) + " µs"
    if magnitude < 1:
        return _num(value * 1e3) + " ms"
    if magnitude < 60:
        return _num(value) + " s"
    if magnitude < 3600:
        return _num(value / 60) + " min"
    if magnitude < 86400:
        return _num(value / 3600) + " h"
    return _num(value / 86400) + " d"


def _bytes(value: float, table: tuple[tuple[float, str], ...], unit: str) -> str:
    for size, prefix in table:
        if abs(value) >= size:
            return f"{_num(value / size)} {prefix}"
    return f"{_num(value)} {unit}"


def format_value(value: float | None, unit: str) -> str:
    """``0.0123`` in ``percentunit`` → ``1.23%``; ``None`` → ``no data``."""
    if value is None:
        return "no data"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    scale = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "m": 60, "h": 3600, "d": 86400}
    if unit in ("s", *scale):
        return _duration(value * scale.get(unit, 1))
    if unit == "percent":
        return _num(value) + "%"
    if unit == "percentunit":
        return _num(value * 100) + "%"
    if unit == "bytes":
        return _bytes(value, _IEC, "B")
    if unit == "decbytes":
        return _bytes(value, tuple((s, p + "B") for s, p in _SI), "B")
    if unit in ("bits", "bps", "Bps"):
        base = "b" if unit == "bits" else ("b/s" if unit == "bps" else "B/s")
        return _short(value) + " " + base if abs(value) < 1000 else _short(value) + base
    if unit in _SUFFIX:
        return _short(value) + _SUFFIX[unit]
    if unit == "currencyUSD":
        return "$" + _short(value)
    if unit == "currencyEUR":
        return _short(value) + " €"
    if unit == "celsius":
        return _num(value) + " °C"
    if unit == "dateTimeAsIso":
        return datetime.fromtimestamp(value).isoformat(sep=" ", timespec="seconds")
    if unit == "none":
        return _num(value)
    return _short(value)
