"""When a rule group evaluates: Prometheus' slotted evaluation timestamps.

Each group evaluates at ``k * interval + offset``, where the offset spreads groups over the interval
and is a hash of the group's name and file (``rules/manager.go`` ``Group.EvalTimestamp`` and
``Group.hash`` in Prometheus 2.42)::

    offset = xxhash64("file\\xff<file>\\xffname\\xff<name>\\xff") % interval_in_nanoseconds

(``labels.Labels.Hash`` of ``{file=..., name=...}``, names sorted). Replaying at other timestamps
shifts every transition by up to one interval; replaying at these reproduces the live evaluations
(checked against a real Prometheus in ``tests/history/test_backtest_live.py``).
"""

from __future__ import annotations

import math

import xxhash

__all__ = ["evaluation_grid", "group_offset"]


def group_offset(file: str, name: str, interval: float) -> float:
    """Seconds after each multiple of ``interval`` at which the group ``name`` of ``file`` evaluates."""
    interval_ns = round(interval * 1e9)
    if interval_ns <= 0:
        return 0.0
    key = b"file\xff" + file.encode() + b"\xffname\xff" + name.encode() + b"\xff"
    offset_ns = xxhash.xxh64_intdigest(key) % interval_ns
    return (offset_ns // 1_000_000) / 1000  # evaluation timestamps are whole milliseconds


def evaluation_grid(start: float, end: float, interval: float, offset: float) -> tuple[float, int]:
    """The first evaluation at or after ``start`` and how many there are up to ``end``."""
    first = math.ceil(round((start - offset) / interval, 9)) * interval + offset
    if first > end:
        return first, 0
    return first, int(round((end - first) / interval, 9)) + 1
