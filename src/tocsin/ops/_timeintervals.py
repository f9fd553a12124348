"""Alertmanager's time intervals evaluated at an instant, on the compiled ``alertmanager.yml``.

The semantics are Alertmanager 0.25's (``timeinterval/timeinterval.go``): a named interval holds
periods, any one matching is enough; a period matches when every field it gives matches; times are
``[start, end)`` in minutes of the day, in the period's ``location`` (UTC when absent); ranges
``a:b`` are inclusive; a day of the month may count from the end (``-1`` is the last day).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["TimeIntervals"]

_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip


def _range(text: str, names: Sequence[str] = (), base: int = 0) -> tuple[int, int]:
    start, _, end = str(text).lower().partition(":")
    end = end or start

    def number(word: str) -> int:
        return names.index(word) + base if word in names else int(word)

    return number(start), number(end)


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _minutes(clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    return int(hours) * 60 + int(minutes)


def _day_matches(spec: str, when: datetime) -> bool:
    last = calendar.monthrange(when.year, when.month)[1]
    start, end = _range(spec)
    start, end = (last + 1 + d if d < 0 else d for d in (start, end))
    return start <= when.day <= end


def _period_matches(period: Mapping[str, Any], instant: datetime) -> bool:
    zone = ZoneInfo(period["location"]) if period.get("location") else UTC
    when = instant.astimezone(zone)
    if "times" in period:
        minute = when.hour * 60 + when.minute
        if not any(_minutes(t["start_time"]) <= minute < _minutes(t["end_time"]) for t in period["times"]):
            return False
    if "weekdays" in period:
        day = (when.weekday() + 1) % 7  # Python: Monday 0; Alertmanager: Sunday 0
        if not any(a <= day <= b for a, b in (_range(w, _WEEKDAYS) for w in period["weekdays"])):
            return False
    checks: tuple[tuple[str, Callable[[str], bool]], ...] = (
        ("days_of_month", lambda d: _day_matches(d, when)),
        ("months", lambda m: _within(when.month, _range(m, _MONTHS, 1))),
        ("years", lambda y: _within(when.year, _range(y))),
    )
    return all(key not in period or any(test(v) for v in period[key]) for key, test in checks)


class TimeIntervals:
    """The ``time_intervals`` of one ``alertmanager.yml`` (and the deprecated ``mute_time_intervals``)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        entries = [*(config.get("time_intervals") or []), *(config.get("mute_time_intervals") or [])]
        self.periods: dict[str, list[Mapping[str, Any]]] = {
            e["name"]: list(e["time_intervals"]) for e in entries
        }

    def matches(self, name: str, instant: datetime) -> bool:
        return any(_period_matches(p, instant) for p in self.periods.get(name, []))

    def any_matches(self, names: Sequence[str], instant: datetime) -> str | None:
        """The first of ``names`` that matches at ``instant``, if any."""
        return next((n for n in names if self.matches(n, instant)), None)

    def next_change(
        self, test: Any, instant: datetime, horizon: timedelta = timedelta(days=32)
    ) -> datetime | None:
        """The first minute after ``instant`` where ``test(minute)`` differs from ``test(instant)``."""
        start = test(instant)
        minute = instant.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = instant + horizon
        while minute < end:
            if test(minute) != start:
                return minute
            minute += timedelta(minutes=1)
        return None

    def describe(self, name: str) -> str:
        """A period list in short words: ``monday:friday 09:00-18:00 (Europe/Paris)``."""
        parts = []
        for period in self.periods.get(name, []):
            words = [*period.get("weekdays", []), *period.get("months", [])]
            words += [f"day {d}" for d in period.get("days_of_month", [])]
            words += [str(y) for y in period.get("years", [])]
            words += [f"{t['start_time']}-{t['end_time']}" for t in period.get("times", [])]
            where = f" ({period['location']})" if period.get("location") else " (UTC)"
            parts.append((" ".join(words) or "always") + where)
        return "; ".join(parts) or "(undefined)"
