"""Scalar types of the spec: durations, names, thresholds, PromQL, secrets.

Each is an ``Annotated[str, ...]`` whose validator raises ``ValueError`` with a
sentence a person can act on; the loader turns it into ``file:line:col``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from tocsin.durations import DURATION_EXAMPLES, duration_ms, duration_seconds, format_duration
from tocsin.errors import brief

__all__ = [
    "AlertName",
    "Comparison",
    "Duration",
    "FilePath",
    "LabelName",
    "Name",
    "PositiveDuration",
    "Priority",
    "Severity",
    "StrictModel",
    "Threshold",
    "WaitDuration",
    "clean_number",
    "duration_seconds",
    "format_duration",
    "parse_threshold",
]

Priority = Literal["P1", "P2", "P3"]
Severity = Literal["critical", "warning"]

_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_THRESHOLD_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


class StrictModel(BaseModel):
    """Base of every spec section: unknown keys are errors, values are frozen, aliases and names both
    load, and floats are finite (``.inf`` or ``.nan`` would reach Prometheus as a config it refuses)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


def _duration(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{brief(value)} is not a duration: use {DURATION_EXAMPLES}")
    if value == 0 and not isinstance(value, str):
        return "0s"
    if isinstance(value, int):
        raise ValueError(f"{value!r} is not a duration: give a unit, e.g. '{value}s' or '{value}m'")
    if isinstance(value, float):
        raise ValueError(f"{value!r} is not a duration: give a unit and whole numbers, e.g. 1500ms")
    if any(c in value for c in ".,"):
        raise ValueError(f"{brief(value)} is not a duration: whole units only, e.g. 1h30m for 1.5h")
    duration_ms(value)  # ValueError("<what>: <hint>") as the loader reports it
    return value


def _positive_duration(value: object) -> str:
    text = _duration(value)
    if duration_ms(text) == 0:
        raise ValueError(f"{text!r} must be longer than 0: Prometheus and Alertmanager need a period")
    return text


def _file_path(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{brief(value)} is not a file path: give one as a string, e.g. rules/app.yml")
    bad = next((c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0), None)
    if bad is not None:
        raise ValueError(f"the path {brief(value)} contains control character U+{ord(bad):04X}: remove it")
    if len(value) > 4096:
        raise ValueError(f"the path {brief(value)} is longer than 4096 characters: shorten it")
    return value


def _wait(value: object) -> str:
    text = _duration(value)
    if duration_ms(text) > MAX_WAIT_MS:
        raise ValueError(f"{brief(text)} is longer than 10y: no alert should wait that long, shorten it")
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
    """A number as a person would write it: 0.072, 3, 0.000001, 1e+300, never 0.0009999999999999432.

    Plain digits from 1e-6 to 1e21, an exponent beyond (as Go and PromQL print them).
    """
    number = Decimal(str(value)).normalize()
    if number == 0:
        return "0"
    if -6 <= number.adjusted() < 21:
        return format(number, "f")
    return format(number, "e")


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


@functools.lru_cache(maxsize=4096)
def parse_threshold(text: str) -> Comparison:
    """``"> 2"`` → Comparison; raise ValueError with the accepted forms otherwise."""
    match = _THRESHOLD_RE.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a threshold: write an operator and a number, e.g. '> 2' or '<= 0.5'"
        )
    if not _NUMBER_RE.fullmatch(match.group(2)):
        raise ValueError(f"{brief(text)} is not a threshold: {brief(match.group(2))} is not a number")
    number = Decimal(match.group(2))  # exact: every digit written
    if number and not -300 <= number.adjusted() <= 300:
        raise ValueError(f"{brief(text)} is out of range: use a number between 1e-300 and 1e300 in size")
    if len("".join(map(str, number.as_tuple().digits)).strip("0")) > 15:
        raise ValueError(
            f"{brief(text)} has more digits than a float64 holds: Prometheus compares float64s, write at"
            " most 15 significant digits"
        )
    return Comparison(match.group(1), number.normalize())


def _threshold(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a threshold: e.g. '> 2'")
    if isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a threshold: give the operator too, e.g. '> {value}'")
    parse_threshold(value)
    return value.strip()


#: A Prometheus duration (``30s``, ``1h30m``), kept as written; ``0`` is read as ``0s``.
Duration = Annotated[str, BeforeValidator(_duration)]
#: How long a condition must hold before an alert fires (``for:``): at most 10 years, so that the
#: generated unit tests (which evaluate just past it) stay within Prometheus' 292-year range.
WaitDuration = Annotated[str, BeforeValidator(_wait)]
MAX_WAIT_MS = 10 * 365 * 86_400_000
#: A file path (relative ones are resolved against the spec's directory by the loader).
FilePath = Annotated[str, BeforeValidator(_file_path)]
#: A duration that must be longer than zero (intervals: Prometheus divides by them).
PositiveDuration = Annotated[str, BeforeValidator(_positive_duration)]
LabelName = Annotated[str, BeforeValidator(_label_name)]
AlertName = Annotated[str, BeforeValidator(_alert_name)]
Name = Annotated[str, BeforeValidator(_name)]
Threshold = Annotated[str, BeforeValidator(_threshold)]
