"""Alert annotation templates, and their expansion as Prometheus would do it.

The generated promtool tests must state each firing alert's annotations
exactly, so the few template forms the spec allows are expanded here the way
Prometheus's Go templates do (``humanize``: SI prefixes and ``%.4g``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = ["expand", "humanize", "humanize_percentage"]

_TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}")
_BIG = ("k", "M", "G", "T", "P", "E", "Z", "Y")
_SMALL = ("m", "u", "n", "p", "f", "a", "z", "y")


def _g4(value: float) -> str:
    """Go's ``%.4g``."""
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{exponent[0]}{int(exponent[1:]):02d}"
    return text


def humanize(value: float) -> str:
    """Prometheus's ``humanize``: 1234 → ``1.234k``, 0.0123 → ``12.3m``."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    prefix = ""
    if abs(value) >= 1:
        for candidate in _BIG:
            if abs(value) < 1000:
                break
            prefix, value = candidate, value / 1000
    else:
        for candidate in _SMALL:
            if abs(value) >= 1:
                break
            prefix, value = candidate, value * 1000
    return f"{_g4(value)}{prefix}"


def humanize_percentage(value: float) -> str:
    """Prometheus's ``humanizePercentage``: 0.0123 → ``1.23%``."""
    return f"{_g4(value * 100)}%"


def _plain(value: float) -> str:
    """Go's default float formatting (``%v``: shortest repr, exponent from 1e21)."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def expand(template: str, value: float, labels: Mapping[str, str]) -> str:
    """``template`` with its ``{{ ... }}`` parts filled in for one alert."""

    def fill(match: re.Match[str]) -> str:
        body = " ".join(match.group(1).split())
        if body == "$value":
            return _plain(value)
        if body == "$value | humanize":
            return humanize(value)
        if body == "$value | humanizePercentage":
            return humanize_percentage(value)
        if body.startswith("$labels."):
            return labels.get(body.removeprefix("$labels."), "")
        raise ValueError(f"template {match.group(0)!r} cannot be expanded")

    return _TEMPLATE_RE.sub(fill, template)
