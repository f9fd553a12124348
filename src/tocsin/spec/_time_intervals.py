"""``time_intervals:``: named recurring periods a route is active in or muted during (Alertmanager's own).

Seed 003's P3 is "next business day": its route notifies only during business hours::

    time_intervals:
      business-hours:
        weekdays: [monday:friday]
        times: [{start_time: "09:00", end_time: "18:00"}]
        location: Europe/Paris
      christmas: [{months: [december], days_of_month: ["24:26"]}]
    routes:
      P3: {receivers: [dev-email], active_time_intervals: [business-hours], mute_time_intervals: [christmas]}

An interval is one period or a list of them (any one matching is enough); a period matches
when every field it gives matches. The fields, their ranges and their checks are exactly
Alertmanager 0.25's (``timeinterval/timeinterval.go``), so what loads here is what ``amtool``
accepts: weekdays and months by name or number, inclusive ranges ``a:b`` in order, days of
the month from 1 or from the end (``-1`` is the last day), times ``HH:MM`` up to ``24:00``, and
an IANA ``location`` (UTC when absent). Names are compared in lower case, as Alertmanager does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, model_validator

from tocsin.errors import brief
from tocsin.spec._types import StrictModel

if TYPE_CHECKING:
    from tocsin.spec._model import Spec

__all__ = ["TimeInterval", "TimePeriod", "TimeRange", "check_time_intervals", "unused_time_intervals"]

Loc = tuple[str | int, ...]
Found = tuple[Loc, str, str]

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ZONE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_CLOCK_RE = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")  # Alertmanager's validTimeRE


def _bounds(value: object, what: str, example: str) -> tuple[str, str]:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{brief(value)} is not a {what}: write e.g. {example}")
    text = str(value).strip().lower()
    if text.count(":") > 1 or not text or text.startswith(":") or text.endswith(":"):
        raise ValueError(f"{brief(value)} is not a {what}: write one, or a range a:b, e.g. {example}")
    start, _, end = text.partition(":")
    return start, end or start


def _weekdays(value: object) -> str:
    start, end = _bounds(value, "weekday range", "monday:friday")
    for day in (start, end):
        if day not in WEEKDAYS:
            raise ValueError(f"{day!r} is not a weekday: use one of {', '.join(WEEKDAYS)}")
    if WEEKDAYS.index(start) > WEEKDAYS.index(end):
        raise ValueError(f"{value!r} runs backwards: weeks start on sunday, list saturday and sunday apart")
    return start if start == end else f"{start}:{end}"


def _month_number(text: str) -> int:
    if text in MONTHS:
        return MONTHS.index(text) + 1
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    raise ValueError(f"{text!r} is not a month: use a name (january) or a number from 1 to 12")


def _months(value: object) -> str:
    start, end = _bounds(value, "month range", "january:march")
    if _month_number(start) > _month_number(end):
        raise ValueError(
            f"{value!r} runs backwards: split it at the new year, e.g. november:december, january"
        )
    return start if start == end else f"{start}:{end}"


def _day_number(text: str) -> int:
    if not re.fullmatch(r"-?[0-9]{1,2}", text) or not (1 <= abs(int(text)) <= 31):
        raise ValueError(f"{text!r} is not a day of the month: use 1 to 31, or -1 (the last day) to -31")
    return int(text)


def _days(value: object) -> str:
    start, end = _bounds(value, "day-of-month range", "'1:7' or '-7:-1' (the last week)")
    first, last = _day_number(start), _day_number(end)
    if first < 0 < last:
        raise ValueError(f"{value!r} mixes counting from the end and from the start: make both negative")
    if (first + 28 if first < 0 else first) > (last + 28 if last < 0 else last):  # Alertmanager's own check
        raise ValueError(f"{value!r} runs backwards in every month: swap its ends")
    return start if start == end else f"{start}:{end}"


def _years(value: object) -> str:
    start, end = _bounds(value, "year range", "'2025:2026'")
    for year in (start, end):
        if not year.isdigit() or not 1 <= int(year) <= 9999:
            raise ValueError(f"{year!r} is not a year: write it with four digits, e.g. 2025")
    if int(start) > int(end):
        raise ValueError(f"{value!r} runs backwards: swap its ends")
    return start if start == end else f"{start}:{end}"


def _clock(value: object) -> str:
    if not isinstance(value, str) or not _CLOCK_RE.fullmatch(value):
        raise ValueError(f"{brief(value)} is not a time of day: write HH:MM from 00:00 to 24:00, quoted")
    return value


def _location(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(
        r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", value
    ):
        raise ValueError(f"{brief(value)} is not a time zone: use an IANA name, e.g. Europe/Paris or UTC")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name, e.g. Europe/Paris or UTC") from None
    return value


Weekdays = Annotated[str, BeforeValidator(_weekdays)]
Months = Annotated[str, BeforeValidator(_months)]
Days = Annotated[str, BeforeValidator(_days)]
Years = Annotated[str, BeforeValidator(_years)]
Clock = Annotated[str, BeforeValidator(_clock)]
Location = Annotated[str, BeforeValidator(_location)]


class TimeRange(StrictModel):
    """``start_time`` to ``end_time`` in one day (``end_time: "24:00"`` for midnight)."""

    start_time: Clock
    end_time: Clock

    @model_validator(mode="after")
    def _forward(self) -> TimeRange:
        if self.start_time >= self.end_time:
            raise ValueError(
                f"{self.start_time} to {self.end_time} is empty: end after the start; across midnight,"
                " give two ranges (22:00 to 24:00 and 00:00 to 06:00)"
            )
        return self


class TimePeriod(StrictModel):
    """One period: every field given must match (an empty period matches all the time)."""

    times: list[TimeRange] = Field(default_factory=list)
    weekdays: list[Weekdays] = Field(default_factory=list)
    days_of_month: list[Days] = Field(default_factory=list)
    months: list[Months] = Field(default_factory=list)
    years: list[Years] = Field(default_factory=list)
    location: Location | None = None


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, dict) else value


#: A named interval: one period or a list of them, any of which may match.
TimeInterval = Annotated[list[TimePeriod], BeforeValidator(_one_or_many)]


def _route_intervals(spec: Spec) -> Iterator[tuple[Loc, str]]:
    for _label, key, route in spec.routes.selectors():
        for field in ("active_time_intervals", "mute_time_intervals"):
            for j, name in enumerate(getattr(route, field)):
                yield ("routes", key, field, j), name


def check_time_intervals(spec: Spec) -> Iterator[Found]:
    """Every interval a route names is defined."""
    known = ", ".join(sorted(spec.time_intervals)) or "none defined"
    for loc, name in _route_intervals(spec):
        if name not in spec.time_intervals:
            close = difflib.get_close_matches(name, list(spec.time_intervals), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"time_intervals: {known}"
            yield loc, f"unknown time interval {name!r}", hint


def unused_time_intervals(spec: Spec) -> Iterator[Found]:
    """Intervals no route uses (a warning: probably a route that forgot it)."""
    used = {name for _loc, name in _route_intervals(spec)}
    for name in spec.time_intervals:
        if name not in used:
            yield (
                ("time_intervals", name),
                f"time interval {name!r} is never used",
                "name it in a route's active_time_intervals or mute_time_intervals, or delete it",
            )
