"""Whether a spec's route notifies right now: its ``active_time_intervals`` and ``mute_time_intervals``.

A P3 routed to the developer "on business days" is muted at night: its alert fires in Prometheus
but no notification may reach the developer. The harness asks :func:`route_notifies` for each
expected receiver, so a scenario holds by day and by night. The matching is Alertmanager 0.25's
(``timeinterval.go``): times are ``[start, end)`` in minutes of the day, negative days of the month
count from its end, every field of a period must match, and any period of an interval is enough.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tocsin.spec import Spec

__all__ = ["period_matches", "route_for", "route_notifies"]

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip


def _range(text: str, number: dict[str, int] | None = None) -> tuple[int, int]:
    start, _, end = text.partition(":")
    end = end or start

    def value(part: str) -> int:
        return number[part] if number is not None and part in number else int(part)

    return value(start), value(end)


def period_matches(period: Any, when: datetime) -> bool:
    """One ``TimePeriod`` of the spec against an aware datetime."""
    location = period.location
    local = when.astimezone(ZoneInfo(location) if location else ZoneInfo("UTC"))
    minute = local.hour * 60 + local.minute
    times = period.times
    if times and not any(_minutes(t.start_time) <= minute < _minutes(t.end_time) for t in times):
        return False
    weekday = (local.weekday() + 1) % 7  # Python's Monday=0 → Alertmanager's Sunday=0
    days = {name: i for i, name in enumerate(WEEKDAYS)}
    if period.weekdays and not any(a <= weekday <= b for a, b in (_range(w, days) for w in period.weekdays)):
        return False
    last = calendar.monthrange(local.year, local.month)[1]
    if period.days_of_month and not any(
        _day(a, last) <= local.day <= _day(b, last) for a, b in (_range(d) for d in period.days_of_month)
    ):
        return False
    months = {name: i + 1 for i, name in enumerate(MONTHS)}
    if period.months and not any(
        a <= local.month <= b for a, b in (_range(m, months) for m in period.months)
    ):
        return False
    return not period.years or any(a <= local.year <= b for a, b in (_range(y) for y in period.years))


def _minutes(clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    return int(hours) * 60 + int(minutes)


def _day(day: int, last: int) -> int:
    return last + day + 1 if day < 0 else day


def _interval_active(spec: Spec, name: str, when: datetime) -> bool:
    return any(period_matches(p, when) for p in spec.time_intervals.get(name, []))


def route_for(spec: Spec, priority: str, severity: str) -> Any:
    """The route an alert of this priority and severity takes (priority, else severity, else default)."""
    routes = spec.routes
    return getattr(routes, priority, None) or getattr(routes, severity, None) or routes.default


def route_notifies(spec: Spec, priority: str, severity: str, when: datetime) -> tuple[bool, str]:
    """Whether that route notifies at ``when``, and why not when it does not."""
    route = route_for(spec, priority, severity)
    if route is None:
        return True, ""
    active, mute = list(route.active_time_intervals), list(route.mute_time_intervals)
    for name in mute:
        if _interval_active(spec, name, when):
            return False, f"muted during {name}"
    if active and not any(_interval_active(spec, name, when) for name in active):
        return False, f"muted outside {', '.join(active)}"
    return True, ""
