"""Durations, in Prometheus' grammar: the one duration syntax of every tocsin file.

``1y2w3d4h5m6s7ms``: integer amounts, units in that order, each at most once, no
spaces, no fractions (``1.5h`` is ``1h30m``), and ``0`` alone. It is exactly what
``prometheus/common/model.ParseDuration`` accepts, so whatever the spec accepts
Prometheus and Alertmanager accept too, including its range: at most
2^63 - 1 nanoseconds (about 292 years), past which Go reports "duration out of
range". A value is kept in integer milliseconds, Prometheus' own resolution.
Errors are ``ValueError("<what>: <how to fix>")``, the form spec errors are printed in.

::

    >>> duration_seconds("1h30m")
    5400.0
    >>> format_duration(5400)
    '1h30m'
"""

from __future__ import annotations

import re

from tocsin.errors import brief

__all__ = [
    "DURATION_EXAMPLES",
    "MAX_DURATION_MS",
    "duration_ms",
    "duration_seconds",
    "format_duration",
    "format_duration_ms",
]

#: What an error message shows as valid forms.
DURATION_EXAMPLES = "e.g. 250ms, 30s, 5m, 1h30m, 7d"
#: Go's time.Duration is int64 nanoseconds; Prometheus parses in milliseconds under that bound.
MAX_DURATION_MS = (2**63 - 1) // 1_000_000

_DURATION_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_FORMAT_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))
_MAX_DIGITS = 20  # more digits than that overflow whatever the unit; refuse before int() sees them


def duration_ms(text: str) -> int:
    """Milliseconds in a Prometheus duration (``1h30m`` → 5,400,000); ValueError says why not."""
    if text == "0":
        return 0
    match = _DURATION_RE.fullmatch(text) if text and len(text) <= 128 else None
    if match is None:
        raise ValueError(f"{brief(text)} is not a duration: use {DURATION_EXAMPLES}")
    total = 0
    for amount, unit in zip(match.groups(), _UNIT_MS, strict=True):
        if amount:
            if len(amount) > _MAX_DIGITS:
                total = MAX_DURATION_MS + 1
                break
            total += int(amount) * unit
    if total > MAX_DURATION_MS:
        raise ValueError(f"{brief(text)} is out of range: Prometheus' limit is about 292y")
    return total


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration (``1h30m`` → 5400.0)."""
    return duration_ms(text) / 1000


def format_duration_ms(millis: int) -> str:
    """The shortest Prometheus duration for ``millis`` (5,400,000 → ``1h30m``, 0 → ``0s``)."""
    if millis <= 0:
        return "0s"
    parts: list[str] = []
    for suffix, size in _FORMAT_UNITS:
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts)


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for ``seconds``, rounded to the millisecond (0.25 → ``250ms``)."""
    return format_duration_ms(round(seconds * 1000))
