"""One ``files:`` entry at run time: its tail, its patterns, and how a block of its lines is counted.

:meth:`Source.process` is the hot path: a block of complete lines (up to 1 MiB) is counted by level
(one regex ``findall`` over the block, no per-line Python objects), matched once for all patterns,
and, if lines are kept, turned into store rows. Captured values must be finite, non-negative numbers
no larger than 2**53 (beyond, adding 1 no longer changes a float): anything else counts nothing and is
counted in ``logwatch_invalid_values_total``, so one hostile line cannot turn a counter into +Inf or
NaN for ever.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ._filestate import FileState
from ._levels import LEVELS, level_rank, normalize_level
from ._match import CompiledPattern, Matcher
from ._state import Counts
from ._tail import Tail
from .config import FileConfig, PatternConfig
from .store import Row, parse_timestamp

__all__ = ["NO_LEVEL", "Source"]

NO_LEVEL = "none"
_KNOWN_LEVELS = frozenset(LEVELS)
_TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "asctime")
_MAX_VALUE = float(2**53)
_MAX_NUMBER_TEXT = 400  # characters: float() of a longer capture is not worth the time it takes


@functools.lru_cache(maxsize=256)
def _level_label_of(raw: bytes) -> str:
    return _level_label(raw.decode("utf-8", "replace"))


def _level_label(raw: object) -> str:
    if raw is None:
        return NO_LEVEL
    level = normalize_level(str(raw)[:64])
    return level if level in _KNOWN_LEVELS else "other"


def _number(text: str | None) -> float | None:
    """A captured value, or None if it is not a number a counter can add."""
    if not text or len(text) > _MAX_NUMBER_TEXT:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= _MAX_VALUE else None  # also rejects nan (every comparison fails)


@dataclass
class Source:
    """A ``files:`` entry with its tail, the patterns that apply to it and its compiled matcher."""

    name: str
    config: FileConfig
    tail: Tail
    patterns: list[PatternConfig]
    matcher: Matcher
    level_finder: re.Pattern[bytes] | None = field(default=None)

    @classmethod
    def build(
        cls, fc: FileConfig, all_patterns: tuple[PatternConfig, ...], path: Path, engine: str, **tail: Any
    ) -> Source:
        name = fc.source or Path(fc.path).stem.replace("*", "").strip(".") or "logs"
        patterns = [p for p in all_patterns if not p.sources or name in p.sources]
        compiled = [
            CompiledPattern(i, re.compile(p.regex), p.value, p.label_names) for i, p in enumerate(patterns)
        ]
        finder = None
        if fc.format == "text" and fc.level:
            finder = re.compile(rb"^[^\n]*?(?:" + fc.level.encode() + rb")", re.MULTILINE)
        return cls(
            name,
            fc,
            Tail(str(path), from_end=fc.from_end, exclude=fc.exclude, **tail),
            patterns,
            Matcher(compiled, engine),
            finder,
        )

    @property
    def key(self) -> str:
        return f"{self.name}|{self.tail.pattern}"

    @property
    def levels(self) -> tuple[str, ...]:
        """The ``level`` values this source's line counter starts with, at 0."""
        has_levels = self.level_finder is not None or self.config.format == "json"
        return (*LEVELS, NO_LEVEL) if has_levels else (NO_LEVEL,)

    def process(
        self, state: FileState, block: bytes, counts: Counts, rows: list[Row] | None, min_rank: int
    ) -> None:
        """Count ``block`` (complete lines of ``state``) into ``counts``; append store rows to ``rows``."""
        now = time.time()
        total = block.count(b"\n")
        levels: dict[int, str] | None = None
        if rows is not None or self.config.format == "json":
            levels = self._levels(block)
            per_level = Counter(levels.values()) if levels is not None else None
        else:
            per_level = self._count_levels(block)
        lines = counts.lines
        if per_level is not None:
            for level, n in per_level.items():
                key = (self.name, level)
                lines[key] = lines.get(key, 0) + n
            total -= sum(per_level.values())
        if total:
            key = (self.name, NO_LEVEL)
            lines[key] = lines.get(key, 0) + total
        self._match(block, counts, now)
        counts.stats["bytes_read"] = counts.stats.get("bytes_read", 0) + len(block)
        if rows is not None:
            self._queue_rows(state, block, levels or {}, now, rows, min_rank)

    def _match(self, block: bytes, counts: Counts, now: float) -> None:
        patterns = self.patterns
        found: dict[tuple[int, tuple[str, ...]], float] = {}
        invalid = 0
        for index, _start, _end, match in self.matcher.scan(block):
            if match is None:
                found[index, ()] = found.get((index, ()), 0.0) + 1.0
                continue
            pattern = patterns[index]
            value = 1.0
            if pattern.value is not None:
                number = _number(match.group(pattern.value))
                if number is None:
                    invalid += 1
                    continue
                value = number
            series = (index, tuple(match.group(name) or "" for name in pattern.label_names))
            found[series] = found.get(series, 0.0) + value
        for (index, labels), value in found.items():
            counts.add(patterns[index], labels, value, now)
        if invalid:
            counts.stats["invalid_values"] = counts.stats.get("invalid_values", 0) + invalid

    def _count_levels(self, block: bytes) -> Counter[str] | None:
        """Lines per level in a text ``block``: the hot path, with no per-line Python objects."""
        finder = self.level_finder
        if finder is None:
            return None
        if finder.groups == 1:
            raw = Counter(finder.findall(block))
        else:
            group = finder.groupindex["level"]
            raw = Counter(m.group(group) for m in finder.finditer(block))
        out: Counter[str] = Counter()
        for value, n in raw.items():
            out[_level_label_of(value)] += n
        return out

    def _levels(self, block: bytes) -> dict[int, str] | None:
        """Level of each line that has one, by the line's start offset in ``block``."""
        if self.config.format == "json":
            out = {}
            key = self.config.level_key
            start = 0
            for line in block.split(b"\n")[:-1]:
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError:
                    doc = None
                if isinstance(doc, dict) and key in doc:
                    out[start] = _level_label(doc[key])
                start += len(line) + 1
            return out
        if self.level_finder is not None:
            group = self.level_finder.groupindex["level"]
            return {m.start(): _level_label_of(m.group(group)) for m in self.level_finder.finditer(block)}
        return None

    def _queue_rows(
        self,
        state: FileState,
        block: bytes,
        levels: dict[int, str],
        now: float,
        rows: list[Row],
        min_rank: int,
    ) -> None:
        path, generation, offset = state.path, state.generation, state.offset
        is_json = self.config.format == "json"
        start = 0
        for raw in block.split(b"\n")[:-1]:
            level = levels.get(start, NO_LEVEL)
            line_start, start = start, start + len(raw) + 1
            if level_rank(level if level != NO_LEVEL else "INFO") < min_rank:
                continue
            text = raw.decode("utf-8", "replace").replace("\x00", "\ufffd")
            ts = None
            if is_json:
                text, ts = _json_message(text, self.config.message_key)
            if ts is None:
                ts = parse_timestamp(text) or now
            rows.append((ts, level, self.name, path, generation, offset + line_start, text))


def _json_message(text: str, message_key: str) -> tuple[str, float | None]:
    """The message and timestamp of a JSON line (the whole line when it is not a JSON object)."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text, None
    if not isinstance(doc, dict):
        return text, None
    ts: float | None = None
    for key in _TIME_KEYS:
        value = doc.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            ts = float(value) / (1000.0 if value > 1e11 else 1.0)
            ts = ts if math.isfinite(ts) and 0 < ts < 1e11 else None  # milliseconds, or seconds
            break
        if isinstance(value, str):
            ts = parse_timestamp(value)
            if ts is not None:
                break
    message = doc.get(message_key)
    return (text if message is None else str(message)), ts
