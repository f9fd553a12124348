"""Profiles: named sets of durations (``--profile fast``) written over the spec before validation.

``fast`` is built in (1 s scrapes and evaluations, ``for: 2s``, no grouping wait) for demos
and end-to-end tests; a spec's own ``profiles:`` entry of the same name replaces it, unless it
says ``extends: fast``, which lays it over the built-in one (and any profile over any other).

A plan's time-scaled values are taken down by the profile too, never edited away in the plan:
``thresholds`` replaces an alert's levels by its final name (pack alerts included), a pack's own
``profiles: {NAME: {param: value}}`` replaces its parameters (the jobs pack's ``baseline_min_duration``),
``ranges`` rewrites the range selectors of alert expressions (``[10m]`` → ``[20s]``, subqueries
too, never inside a string literal), and ``time_scale: N`` divides every ``for`` and every range
by N (a ``for`` at least one evaluation interval, a range at least four scrape intervals), where
the profile's own ``for`` and ``ranges`` do not say otherwise. These apply after the packs are
expanded, so ``rate(x[10m])`` in a pack's alert scales like a hand-written one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from tocsin.durations import duration_ms, format_duration_ms
from tocsin.errors import SpecError
from tocsin.spec._model import Alert, Profile, Spec
from tocsin.spec._positions import Locator

__all__ = [
    "BUILTIN_PROFILES",
    "apply_overrides",
    "apply_profile",
    "check_pack_profiles",
    "rewrite_ranges",
    "select_profile",
]

#: Profiles every spec has; a spec's own ``profiles:`` entry of the same name replaces it.
BUILTIN_PROFILES: dict[str, Profile] = {
    "fast": Profile.model_validate(
        {
            "scrape_interval": "1s",
            "evaluation_interval": "1s",
            "for": "2s",
            "target_down_for": "2s",
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1m",
        }
    ),
}
_MERGED = ("thresholds", "ranges")


def apply_profile(data: dict[str, Any], profile: Profile, name: str | None = None) -> dict[str, Any]:
    """A copy of the raw spec with the profile's durations written in, and each pack's own
    ``profiles.<name>`` parameters laid over its others."""
    data = {**data}
    if name is not None:
        data["packs"] = [_pack_under(p, name) for p in data.get("packs") or []]
    scrape = {**data.get("scrape", {})}
    if profile.scrape_interval:
        scrape["interval"] = profile.scrape_interval
        scrape["timeout"] = profile.scrape_timeout or profile.scrape_interval
        data["services"] = {
            name: {**svc, **{k: profile.scrape_interval for k in ("interval", "timeout") if k in svc}}
            for name, svc in (data.get("services") or {}).items()
        }
    if profile.evaluation_interval:
        scrape["evaluation_interval"] = profile.evaluation_interval
    data["scrape"] = scrape
    if profile.for_:
        data["alerts"] = [{**a, "for": profile.for_} if a.get("for") else a for a in data.get("alerts") or []]
        data["packs"] = [{**p, "for": {"*": profile.for_}} for p in data.get("packs") or []]
    if profile.target_down_for:
        data["services"] = {
            name: {**svc, "down": {**(svc.get("down") or {}), "for": profile.target_down_for}}
            for name, svc in (data.get("services") or {}).items()
        }
    routes = {**(data.get("routes") or {})}
    for key in ("group_wait", "group_interval", "repeat_interval"):
        value = getattr(profile, key)
        if value is None:
            continue
        routes[key] = value
        for name, route in routes.items():
            if isinstance(route, dict) and key in route:
                routes[name] = {**route, key: value}
    if profile.repeat_interval:
        routes = {
            name: {"receivers": route, "repeat_interval": profile.repeat_interval}
            if isinstance(route, list) and name in ("P1", "P2", "P3")
            else route
            for name, route in routes.items()
        }
    data["routes"] = routes
    return data


def _pack_under(pack: Any, name: str) -> Any:
    overrides = pack.get("profiles") if isinstance(pack, dict) else None
    chosen = overrides.get(name) if isinstance(overrides, dict) else None
    return {**pack, **chosen} if isinstance(chosen, dict) else pack


def check_pack_profiles(spec: Spec) -> Iterable[tuple[tuple[str | int, ...], str, str]]:
    """A pack's ``profiles:`` names profiles the spec has (its own or built in)."""
    known = {*spec.profiles, *BUILTIN_PROFILES}
    for index, use in enumerate(spec.packs):
        for name in use.profiles:
            if name not in known:
                yield (("packs", index, "profiles", name), f"pack {use.use!r}: unknown profile {name!r}",
                       f"profiles: {', '.join(sorted(known))}")  # fmt: skip


def select_profile(spec: Spec, name: str, locator: Locator, _seen: tuple[str, ...] = ()) -> Profile:
    """The profile ``name``: the spec's own (laid over its ``extends``), else the built-in one."""
    if name in _seen:
        chain = " -> ".join([*_seen, name])
        where = ("profiles", _seen[-1], "extends")
        message = f"profiles extend in a loop: {chain}"
        raise SpecError([locator.problem(where, message, "make one of them extend nothing")])
    profile = spec.profiles.get(name) or BUILTIN_PROFILES.get(name)
    if profile is None:
        known = ", ".join(sorted({*spec.profiles, *BUILTIN_PROFILES}))
        loc: tuple[str | int, ...] = ("profiles", _seen[-1], "extends") if _seen else ("profiles",)
        raise SpecError([locator.problem(loc, f"unknown profile {name!r}", f"profiles: {known}")])
    if profile.extends is None:
        return profile
    if profile.extends == name and name in BUILTIN_PROFILES and name in spec.profiles:
        base = BUILTIN_PROFILES[name]  # `fast: {extends: fast, ...}`: over the built-in fast
    else:
        base = select_profile(spec, profile.extends, locator, (*_seen, name))
    merged = base.model_dump(by_alias=True, exclude={"extends", *_MERGED})
    merged |= profile.model_dump(by_alias=True, exclude_unset=True, exclude={"extends", *_MERGED})
    for key in _MERGED:
        merged[key] = {**getattr(base, key), **getattr(profile, key)}
    return Profile.model_validate(merged)


# --- the time-scaled values: thresholds, ranges, time_scale ------------------------------------------

_RANGE = re.compile(r"\[\s*([0-9][0-9a-z]*)\s*(?::\s*([0-9a-z]*)\s*)?\]")


def rewrite_ranges(expr: str, new_range: Any) -> str:
    """``expr`` with each range selector's duration replaced by ``new_range(duration)`` (a duration or
    None to keep it); strings are skipped, so ``{path=~"[0-9]+"}`` stays as it is."""
    out: list[str] = []
    i, quote = 0, ""
    while i < len(expr):
        char = expr[i]
        if quote:
            out.append(char)
            if char == "\\" and quote != "`" and i + 1 < len(expr):
                out.append(expr[i + 1])
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
            out.append(char)
        elif char == "[" and (match := _RANGE.match(expr, i)) is not None:
            duration, step = match.group(1), match.group(2)
            replaced = new_range(duration) or duration
            out.append(f"[{replaced}" + (f":{step}]" if step is not None else "]"))
            i = match.end()
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _scaled(duration: str, scale: int, floor_ms: int) -> str:
    millis = duration_ms(duration)
    if millis == 0:
        return duration
    return format_duration_ms(max(millis // scale, floor_ms))


def apply_overrides(spec: Spec, name: str, profile: Profile, locator: Locator) -> Spec:
    """The expanded spec with the profile's thresholds, ranges and time scale applied to its alerts."""
    if not (profile.thresholds or profile.ranges or profile.time_scale):
        return spec
    names = {alert.name for alert in spec.alerts}
    at: tuple[str | int, ...] = ("profiles", name, "thresholds") if name in spec.profiles else ("profiles",)
    problems = [
        locator.problem((*at, alert), f"profile {name!r}: thresholds for unknown alert {alert!r}",
                        "name an alert of the spec (a pack's by its full name, e.g. ArchiverJobSlow)")
        for alert in profile.thresholds if alert not in names
    ]  # fmt: skip
    if problems:
        raise SpecError(problems)
    ranges = {duration_ms(k): v for k, v in profile.ranges.items()}
    scale = profile.time_scale or 1
    range_floor = 4 * duration_ms(spec.scrape.interval)
    for_floor = duration_ms(spec.scrape.evaluation_interval)

    def new_range(duration: str) -> str | None:
        try:
            millis = duration_ms(duration)
        except ValueError:
            return None  # not a duration: the PromQL check already refused or will refuse it
        if millis in ranges:
            return ranges[millis]
        return _scaled(duration, scale, range_floor) if scale > 1 else None

    alerts = []
    for alert in spec.alerts:
        data = alert.model_dump(by_alias=True, exclude_none=True)
        data["expr"] = rewrite_ranges(alert.expr, new_range)
        if scale > 1 and alert.for_ and profile.for_ is None:
            if isinstance(data["for"], dict):  # for per level: each scaled
                data["for"] = {level: _scaled(wait, scale, for_floor) for level, wait in data["for"].items()}
            else:
                data["for"] = _scaled(data["for"], scale, for_floor)
        override = profile.thresholds.get(alert.name)
        if override is not None:
            for level in override.model_fields_set:
                value = getattr(override, level)
                if value is None:
                    data.pop(level, None)
                else:
                    data[level] = value
        try:
            alerts.append(Alert.model_validate(data))
        except ValidationError as err:
            reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
            message = f"profile {name!r} breaks alert {alert.name!r}: {reason}"
            problems.append(
                locator.problem((*at, alert.name), message, "give thresholds that keep the alert valid")
            )
    if problems:
        raise SpecError(problems)
    scaled = spec.model_copy(update={"alerts": alerts})
    if ranges or scale > 1:
        scaled._new_range = new_range  # the packs' recording rules are scaled as they are compiled
    return scaled
