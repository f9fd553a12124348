"""Scalar types of the spec: durations, names, thresholds, PromQL, secrets.

Each is an ``Annotated[str, ...]`` whose validator raises ``ValueError`` with a
sentence a person can act on; the loader turns it into ``file:line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = [
    "AlertName",
    "Comparison",
    "Duration",
    "LabelName",
    "Name",
    "Priority",
    "Severity",
    "StrictModel",
    "Threshold",
    "clean_number",
    "duration_seconds",
    "format_duration",
    "parse_threshold",
]

Priority = Literal["P1", "P2", "P3"]
Severity = Literal["critical", "warning"]

_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_THRESHOLD_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


class StrictModel(BaseModel):
    """Base of every spec section: unknown keys are errors, values are frozen, aliases and names both load."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration (``1h30m`` → 5400.0); raise ValueError if it is not one."""
    match = _DURATION_RE.match(text)
    if not text or match is None:
        raise ValueError(f"{text!r} is not a duration")
    return float(sum(int(g) * unit for g, unit in zip(match.groups(), _UNITS, strict=True) if g))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for ``seconds`` (5400 → ``1h30m``, 0 → ``0s``)."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts: list[str] = []
    for suffix, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts)


def _duration(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{value!r} is not a duration")
    text = str(value)
    if isinstance(value, int):
        raise ValueError(f"{text!r} is not a duration: give a unit, e.g. '{text}s' or '{text}m'")
    try:
        duration_seconds(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration: use e.g. 30s, 5m, 1h30m, 7d") from None
    return text


def _label_name(value: object) -> str:
    if not isinstance(value, str) or not _LABEL_RE.match(value) or value.startswith("__"):
        raise ValueError(
            f"{value!r} is not a valid label name: letters, digits and _, not starting with a digit"
        )
    return value


def _alert_name(value: object) -> str:
    if not isinstance(value, str) or not _LABEL_RE.match(value):
        raise ValueError(f"{value!r} is not a valid alert name: letters, digits and _ only, e.g. OcrTooSlow")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a valid name: letters, digits, '_', '-', '.'")
    return value


def clean_number(value: Decimal | float | int | str) -> str:
    """A number as a person would write it: 0.072, 3, 1e-06 never 0.0009999999999999432."""
    number = Decimal(str(value)).normalize()
    if number == number.to_integral_value():
        return str(number.quantize(Decimal(1)))
    text = format(number, "f")
    return text


@dataclass(frozen=True)
class Comparison:
    """A parsed threshold: ``> 2`` is ``Comparison(">", Decimal("2"))``."""

    op: str
    value: Decimal

    def __str__(self) -> str:
        return f"{self.op} {clean_number(self.value)}"

    def holds(self, sample: Decimal) -> bool:
        """Whether a sample crosses this threshold (as PromQL's filter would keep it)."""
        return {
            ">": sample > self.value,
            ">=": sample >= self.value,
            "<": sample < self.value,
            "<=": sample <= self.value,
            "==": sample == self.value,
            "!=": sample != self.value,
        }[self.op]

    @property
    def upward(self) -> bool:
        """True when bigger is worse (``>``/``>=``); ``==``/``!=`` count as upward."""
        return self.op not in ("<", "<=")


def parse_threshold(text: str) -> Comparison:
    """``"> 2"`` → Comparison; raise ValueError with the accepted forms otherwise."""
    match = _THRESHOLD_RE.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a threshold: write an operator and a number, e.g. '> 2' or '<= 0.5'"
        )
    try:
        number = Decimal(match.group(2))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a threshold: {match.group(2)!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a threshold: the number must be finite")
    return Comparison(match.group(1), number)


def _threshold(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a threshold: e.g. '> 2'")
    if isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a threshold: give the operator too, e.g. '> {value}'")
    parse_threshold(value)
    return value.strip()


Duration = Annotated[str, BeforeValidator(_duration)]
LabelName = Annotated[str, BeforeValidator(_label_name)]
AlertName = Annotated[str, BeforeValidator(_alert_name)]
Name = Annotated[str, BeforeValidator(_name)]
Threshold = Annotated[str, BeforeValidator(_threshold)]
