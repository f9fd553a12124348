"""The packs' recording rules (``prometheus/rules/packs.yml``) and a promtool test for each.

The packs' alerts and panels need nothing here: the spec has already added
them to its alerts and dashboards, so :mod:`tocsin.compile.rules` and
:mod:`tocsin.compile.grafana` treat them as hand-written ones. What a pack adds
beyond that is recording rules (the cache hit ratio), which its alerts and
panels read; each gets a ``promql_expr_test`` feeding its inputs and checking
the recorded value. A profile's ``ranges``/``time_scale`` rewrite their ranges as they do the
alerts' (``Spec.profile_expr``); the test's sampling follows: at most a fifth of the shortest range,
on a grid that keeps every value of the test an exact float (promtool compares exactly).
"""

from __future__ import annotations

import re
from typing import Any

from tocsin.durations import duration_ms, format_duration_ms
from tocsin.spec import Spec, pack_records

_RANGE = re.compile(r"\[\s*([0-9][0-9a-z]*)\s*[:\]]")

__all__ = ["pack_units"]


def pack_units(spec: Spec) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """``(unit, rule group, promtool tests)``: one unit holding every pack recording rule, or none."""
    records = [{**r, "expr": spec.profile_expr(r["expr"])} for r in pack_records(spec.packs)]
    if not records:
        return []
    group = {
        "name": f"{spec.app}.packs",
        "rules": [{"record": r["record"], "expr": r["expr"]} for r in records],
    }
    tests = [
        {
            "name": f"record {r['record']}",
            "interval": format_duration_ms(_sampling(r["expr"])),
            "input_series": [
                {**s, "values": _per_second(s["values"], _sampling(r["expr"]))}
                for s in r["test"]["input_series"]
            ],
            "promql_expr_test": [
                {
                    "expr": r["record"],
                    "eval_time": _eval_time(r),
                    "exp_samples": [
                        {
                            "labels": _series(r["record"], r["test"]["exp_labels"]),
                            "value": float(r["test"]["expect"]),
                        }
                    ],
                }
            ],
        }
        for r in records
    ]
    return [("packs", group, tests)]


#: promtool compares expected values exactly, so the test is built for float64 to give exact
#: results: samples on a grid that the window's both ends fall on (no extrapolation: the factor is
#: exactly 1), steps of whole seconds or binary fractions of one, and increments scaled to the step
#: so that every rate is the definition's own small integer (3 and 1 per second give 0.75, where
#: 3 and 1 per 1.2 s gave 0.7500000000000001).
_MAX_STEPS = 15  # the window in steps: it and 5 settled steps fit the definitions' 20-step series
_FRACTIONS: tuple[int, ...] = (500, 250, 125)


def _shortest_range(expr: str) -> int | None:
    ranges = [duration_ms(m.group(1)) for m in _RANGE.finditer(expr)]
    return min(ranges) if ranges else None


def _sampling(expr: str) -> int:
    """The test's interval (ms): the largest step of at most a fifth of the shortest range (and 1
    minute) that divides it into at most 15 exact steps; else a fifth of it."""
    shortest = _shortest_range(expr)
    if shortest is None:
        return 60_000
    limit: int = min(60_000, shortest // 5)
    candidates: list[int] = [*range(limit // 1000 * 1000, 0, -1000), *_FRACTIONS]
    for step in candidates:
        if step <= limit and shortest % step == 0 and shortest // step <= _MAX_STEPS:
            return step
    return max(1, limit)


def _eval_time(record: dict[str, Any]) -> str:
    """The definition's evaluation time shrunk with the sampling (10m at 1m, 10s at 1s), and never
    before the window has 5 settled steps behind it."""
    step = _sampling(record["expr"])
    scaled = int(duration_ms(record["test"]["eval_time"]) * step / 60_000)
    shortest = _shortest_range(record["expr"]) or 0
    return format_duration_ms(max(scaled, shortest + 5 * step))


_SERIES = re.compile(r"^(-?\d+(?:\.\d+)?)\+(\d+(?:\.\d+)?)x(\d+)$")


def _per_second(values: str, step: int) -> str:
    """``start+incxN`` with ``inc`` per second instead of per step (so rates are exactly ``inc``);
    other notations as they are."""
    match = _SERIES.match(values.strip())
    if match is None:
        return values
    start, increment, count = match.groups()
    scaled = float(increment) * step / 1000
    return f"{start}+{scaled:g}x{count}"


def _series(name: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"
