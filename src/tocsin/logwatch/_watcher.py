"""The watcher: tails → one-pass matching → counts, store rows → one checkpoint per poll.

Per poll: every source's :class:`~._tail.Tail` emits blocks of complete lines;
each block is matched once (all patterns), its lines are counted by level and,
if the store is on, queued as rows. Then the checkpoint (positions *and*
counts) is written atomically, and only then ``/metrics`` shows the new
values. With the store on, the checkpoint is saved inside the store's
transaction (one commit for lines, positions and counts); without it, in an
atomically replaced JSON file. A crash anywhere in between resumes from the
previous checkpoint and recounts exactly the lines it had not saved.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson

from ._loki import LokiShipper
from ._match import CompiledPattern, Matcher
from ._state import Counts, CountsCollector, parse_checkpoint, read_checkpoint, write_checkpoint
from ._tail import FileState, Tail
from .config import FileConfig, LogsConfig, PatternConfig, level_rank, normalize_level, parse_duration
from .store import LogStore, Row, parse_timestamp

__all__ = ["CHECKPOINT_NAME", "Watcher"]

CHECKPOINT_NAME = "logwatch-checkpoint.json"
_KNOWN_LEVELS = frozenset(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
_NO_LEVEL = "none"
_TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "asctime")


@functools.lru_cache(maxsize=256)
def _level_label_of(raw: bytes) -> str:
    return _level_label(raw.decode("utf-8", "replace"))


def _level_label(raw: object) -> str:
    if raw is None:
        return _NO_LEVEL
    level = normalize_level(str(raw))
    return level if level in _KNOWN_LEVELS else "other"


@dataclass
class _Source:
    """One ``files:`` entry at run time."""

    name: str
    config: FileConfig
    tail: Tail
    patterns: list[PatternConfig]
    matcher: Matcher
    level_finder: re.Pattern[bytes] | None

    @property
    def key(self) -> str:
        return f"{self.name}|{self.tail.pattern}"


class Watcher:
    """Follows every configured file; :meth:`poll` once, or loop it (see ``tocsin.logwatch.run``)."""

    def __init__(
        self,
        config: LogsConfig,
        state_dir: str | Path,
        base_dir: str | Path = ".",
        *,
        engine: str = "auto",
        rotate_wait: float = 2.0,
        park_after: float = 60.0,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir = Path(base_dir)
        self.checkpoint_path = self.state_dir / CHECKPOINT_NAME
        self.counts = Counts()
        self.collector = CountsCollector(config.patterns)
        self.sources = [self._source(fc, engine, rotate_wait, park_after) for fc in config.files]
        self.store: LogStore | None = None
        if config.store.enabled:
            self.store = LogStore(
                self._resolve(config.store.path) if config.store.path else self.state_dir / "logs.db"
            )
        self._store_min_rank = level_rank(config.store.min_level)
        self._rows: list[Row] = []
        self._dir_sizes: dict[tuple[str, str], float] = {}
        self._next_dir_scan = 0.0
        self._next_compact = 0.0
        self.loki = LokiShipper(config.loki, self.base_dir) if config.loki else None
        self._restore()
        self._publish()

    @property
    def engines(self) -> dict[str, str]:
        return {s.name: s.matcher.engine for s in self.sources}

    def _resolve(self, path: str) -> Path:
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else self.base_dir / p

    def _source(self, fc: FileConfig, engine: str, rotate_wait: float, park_after: float) -> _Source:
        name = fc.source or Path(fc.path).stem.replace("*", "").strip(".") or "logs"
        patterns = [p for p in self.config.patterns if not p.sources or name in p.sources]
        compiled = [
            CompiledPattern(i, re.compile(p.regex), p.value, p.label_names) for i, p in enumerate(patterns)
        ]
        finder = None
        if fc.format == "text" and fc.level:
            finder = re.compile(rb"^[^\n]*?(?:" + fc.level.encode() + rb")", re.MULTILINE)
        tail = Tail(
            str(self._resolve(fc.path)),
            rotate_wait=rotate_wait,
            from_end=fc.from_end,
            exclude=fc.exclude,
            park_after=park_after,
        )
        return _Source(name, fc, tail, patterns, Matcher(compiled, engine), finder)

    # ------------------------------------------------------------------------------------ checkpoint

    def _restore(self) -> None:
        saved = None
        if self.store is not None:
            text = self.store.load_checkpoint()
            saved = None if text is None else parse_checkpoint(text, f"{self.store.path} (checkpoint table)")
        if saved is None:
            saved = read_checkpoint(self.checkpoint_path)
        if saved is None:
            return
        self.counts = Counts.from_json(saved.get("counts", {}))
        files = saved.get("files", {})
        for source in self.sources:
            if source.key in files:
                source.tail.restore(files[source.key])

    def checkpoint(self) -> None:
        """Save positions, counts (and store rows) in one atomic write, then publish."""
        rows, self._rows = self._rows, []
        if self.loki is not None:
            self.counts.stats["loki_dropped"] = (
                self.counts.stats.get("loki_dropped", 0) + self.loki.take_dropped()
            )
        for source in self.sources:
            tail = source.tail
            for stat in ("rotations", "truncations", "lost_files"):
                self.counts.stats[stat] = self.counts.stats.get(stat, 0) + getattr(tail, stat)
                setattr(tail, stat, 0)
        data = {
            "version": 1,
            "files": {s.key: s.tail.state() for s in self.sources},
            "counts": self.counts.to_json(),
        }
        if self.store is not None:
            self.store.commit(rows, json.dumps(data, separators=(",", ":")))
        else:
            write_checkpoint(self.checkpoint_path, data)
        self._publish()
        if self.loki is not None and rows:
            self.loki.submit(rows)  # only lines whose positions are saved: never shipped twice

    def _publish(self, counts_changed: bool = True) -> None:
        gauges: dict[str, tuple[str, dict[tuple[str, str], float]]] = {
            "logwatch_files_watched": (
                "Files followed right now (rotated files still being drained included).",
                {("", ""): float(sum(len(s.tail.files) for s in self.sources))},
            ),
            "logwatch_pending_bytes": (
                "Bytes written to watched files and not counted yet.",
                {("", ""): float(self.pending_bytes())},
            ),
            "log_directory_size_bytes": (
                "Total size of the files under a watched directory.",
                dict(self._dir_sizes),
            ),
        }
        self.collector.publish(self.counts if counts_changed else None, gauges)

    def pending_bytes(self) -> int:
        total = 0
        for source in self.sources:
            try:
                total += source.tail.pending_bytes()
            except OSError:
                continue
        return total

    # ------------------------------------------------------------------------------------ polling

    def poll(self) -> bool:
        """One pass over every source; checkpoints if anything was read. True if lines were read."""
        progressed = False
        for source in self.sources:

            def emit(state: FileState, block: bytes, source: _Source = source) -> None:
                self._process(source, state, block)

            if source.tail.poll(emit):
                progressed = True
        now = time.monotonic()
        if now >= self._next_dir_scan:
            self._scan_directories()
            self._next_dir_scan = now + parse_duration(self.config.directory_size_interval)
        if self.store is not None and now >= self._next_compact:
            self.store.compact(parse_duration(self.config.store.retention))
            self._next_compact = now + parse_duration(self.config.store.compact_every)
        if progressed or any(
            s.tail.rotations or s.tail.truncations or s.tail.lost_files for s in self.sources
        ):
            self.checkpoint()
        else:
            self._publish(counts_changed=False)
        return progressed

    def _process(self, source: _Source, state: FileState, block: bytes) -> None:
        counts = self.counts
        now = time.time()
        total = block.count(b"\n")
        wants_rows = self.store is not None or self.loki is not None
        levels: dict[int, str] | None = None
        if wants_rows or source.config.format == "json":
            levels = self._levels(source, block)
            per_level = Counter(levels.values()) if levels is not None else None
        else:
            per_level = self._count_levels(source, block)
        lines = counts.lines
        if per_level is not None:
            for level, n in per_level.items():
                key = (source.name, level)
                lines[key] = lines.get(key, 0) + n
            total -= sum(per_level.values())
        if total:
            key = (source.name, _NO_LEVEL)
            lines[key] = lines.get(key, 0) + total
        patterns = source.patterns
        found: dict[tuple[int, tuple[str, ...]], float] = {}
        for index, _start, _end, match in source.matcher.scan(block):
            if match is None:
                found[index, ()] = found.get((index, ()), 0.0) + 1.0
                continue
            pattern = patterns[index]
            value = 1.0
            if pattern.value is not None:
                try:
                    value = float(match.group(pattern.value) or "")
                except ValueError:
                    value = 0.0  # the group matched something that is not a number: count nothing
            series = (index, tuple(match.group(name) or "" for name in pattern.label_names))
            found[series] = found.get(series, 0.0) + value
        for (index, labels), value in found.items():
            counts.add(patterns[index], labels, value, now)
        counts.stats["bytes_read"] = counts.stats.get("bytes_read", 0) + len(block)
        if wants_rows:
            self._queue_rows(source, state, block, levels or {}, now)

    def _count_levels(self, source: _Source, block: bytes) -> Counter[str] | None:
        """Lines per level in a text ``block``: the hot path, with no per-line Python objects."""
        finder = source.level_finder
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

    def _levels(self, source: _Source, block: bytes) -> dict[int, str] | None:
        """Level of each line that has one, by the line's start offset in ``block``."""
        if source.config.format == "json":
            out = {}
            key = source.config.level_key
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
        if source.level_finder is not None:
            group = source.level_finder.groupindex["level"]
            return {m.start(): _level_label_of(m.group(group)) for m in source.level_finder.finditer(block)}
        return None

    def _queue_rows(
        self, source: _Source, state: FileState, block: bytes, levels: dict[int, str], now: float
    ) -> None:
        min_rank = self._store_min_rank
        path, generation, offset = state.path, state.generation, state.offset
        is_json = source.config.format == "json"
        start = 0
        for raw in block.split(b"\n")[:-1]:
            level = levels.get(start, _NO_LEVEL)
            line_start, start = start, start + len(raw) + 1
            if level_rank(level if level != _NO_LEVEL else "INFO") < min_rank:
                continue
            text = raw.decode("utf-8", "replace")
            ts = None
            if is_json:
                text, ts = _json_message(text, source.config.message_key)
            if ts is None:
                ts = parse_timestamp(text) or now
            self._rows.append((ts, level, source.name, path, generation, offset + line_start, text))

    def _scan_directories(self) -> None:
        sizes: dict[tuple[str, str], float] = {}
        for directory in self.config.directories:
            total = 0
            for root, _dirs, files in os.walk(self._resolve(directory.path)):
                for name in files:
                    try:
                        total += os.lstat(os.path.join(root, name)).st_size
                    except OSError:
                        continue
            sizes[("path", directory.path)] = float(total)
        self._dir_sizes = sizes

    def close(self) -> None:
        """Save a last checkpoint and release files and the store."""
        self.checkpoint()
        for source in self.sources:
            source.tail.close()
        if self.store is not None:
            self.store.close()
        if self.loki is not None:
            self.loki.close()


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
        if isinstance(value, int | float):
            ts = float(value) / (1000.0 if value > 1e11 else 1.0)
            break
        if isinstance(value, str):
            ts = parse_timestamp(value)
            if ts is not None:
                break
    message = doc.get(message_key)
    return (text if message is None else str(message)), ts
