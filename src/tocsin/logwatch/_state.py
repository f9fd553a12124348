"""Counters and positions, saved together in one atomic checkpoint, and exposed from the last one saved.

Counting exactly once across ``kill -9`` needs the counts and the positions
they correspond to in the *same* durable write: the checkpoint is one JSON
file written to a temporary name, fsynced, renamed over the old one, and the
directory fsynced. ``/metrics`` serves the values of the last checkpoint, so
what Prometheus saw never runs ahead of what a restart resumes from (a counter
that went backwards would read as a reset).

Each checkpoint carries an ``epoch`` (random, chosen when a state directory
starts without one, kept ever after) and a ``seq`` (one more at every save):
the log store commits a copy of the checkpoint with its rows, and at a restart
that copy wins over the file only if it is of the same epoch and newer — the
file's rename was what a ``kill -9`` interrupted.
"""

from __future__ import annotations

import json
import math
import os
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tocsin.errors import UsageError

from .config import PatternConfig

__all__ = [
    "CHECKPOINT_VERSION",
    "Counts",
    "CountsCollector",
    "Saved",
    "encode_checkpoint",
    "new_epoch",
    "parse_checkpoint",
    "read_checkpoint",
    "write_checkpoint",
]

OVERFLOW = "overflow"
#: 2: rotated siblings are tracked too (a version-1 checkpoint's untracked siblings are history).
CHECKPOINT_VERSION = 2
_STATS = {
    "bytes_read": ("logwatch_read_bytes_total", "Bytes of complete lines read from log files."),
    "rotations": ("logwatch_rotations_total", "Files seen leaving their watched path (rename or deletion)."),
    "truncations": ("logwatch_truncations_total", "Truncations seen (copytruncate or a rewritten file)."),
    "lost_files": ("logwatch_lost_files_total", "Tracked files gone before they could be read to the end."),
    "series_dropped": ("logwatch_series_dropped_total", "Label sets folded into the overflow series."),
    "loki_dropped": ("logwatch_loki_dropped_lines_total", "Lines Loki did not accept after all retries."),
    "invalid_values": (
        "logwatch_invalid_values_total",
        "Captured values that are not a number a counter can add (negative, huge, NaN): not added.",
    ),
    "errors": (
        "logwatch_read_errors_total",
        "Errors reading or opening a log file (retried at the next poll).",
    ),
}


@dataclass
class Counts:
    """Everything counted so far; plain data so it can be copied into a checkpoint."""

    patterns: dict[str, dict[tuple[str, ...], float]] = field(default_factory=dict)
    last_match: dict[str, float] = field(default_factory=dict)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)

    def add(self, pattern: PatternConfig, labels: tuple[str, ...], value: float, when: float) -> None:
        series = self.patterns.setdefault(pattern.counter_name, {})
        if labels not in series and labels and len(series) >= pattern.max_series:
            labels = (OVERFLOW,) * len(labels)
            self.stats["series_dropped"] = self.stats.get("series_dropped", 0) + 1
        series[labels] = series.get(labels, 0.0) + value
        self.last_match[pattern.counter_name] = when

    def to_json(self) -> dict[str, Any]:
        return {
            "patterns": {
                name: [[list(k), v] for k, v in series.items()] for name, series in self.patterns.items()
            },
            "last_match": dict(self.last_match),
            "lines": [[list(k), v] for k, v in self.lines.items()],
            "stats": dict(self.stats),
        }

    @classmethod
    def from_json(cls, data: object) -> Counts:
        """Counts as :meth:`to_json` wrote them; ValueError (or TypeError) if ``data`` has another shape."""
        if not isinstance(data, dict):
            raise ValueError("counts is not an object")
        patterns: dict[str, dict[tuple[str, ...], float]] = {}
        for name, series in _items(data, "patterns"):
            patterns[str(name)] = {tuple(_strings(k)): _finite(v) for k, v in _pairs(series)}
        lines: dict[tuple[str, str], int] = {}
        for key, value in _pairs(data.get("lines", [])):
            source, level = _strings(key)
            lines[(source, level)] = int(_finite(value))
        return cls(
            patterns=patterns,
            last_match={str(k): _finite(v) for k, v in _items(data, "last_match")},
            lines=lines,
            stats={str(k): _finite(v) for k, v in _items(data, "stats")},
        )


def _items(data: dict[str, Any], key: str) -> list[tuple[Any, Any]]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"counts.{key} is not an object")
    return list(value.items())


def _pairs(value: object) -> list[tuple[Any, Any]]:
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise ValueError("a list of [labels, value] pairs was expected")
    return [(p[0], p[1]) for p in value]


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{value!r} is not a list of label values")
    return value


def _finite(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{value!r} is not a counter value")
    return float(value)


@dataclass
class Saved:
    """A checkpoint read back: its version, the files of each source (by source key), the counts, and
    which save it was (``epoch``, ``seq``: empty and None in a checkpoint written before they were)."""

    version: int
    files: dict[str, list[dict[str, object]]]
    counts: Counts
    epoch: str = ""
    seq: int | None = None


def new_epoch() -> str:
    return uuid.uuid4().hex


def encode_checkpoint(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def write_checkpoint(path: Path, data: dict[str, Any] | bytes) -> None:
    """Atomically replace ``path`` with ``data`` (or its :func:`encode_checkpoint`): temp file written in
    full, fsynced, renamed, directory fsynced.

    A short write (a disk filling up) continues until every byte is written or the disk says no
    (OSError); then the temporary file is removed and ``path`` is left as it was.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = memoryview(data if isinstance(data, bytes) else encode_checkpoint(data))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        while payload:
            payload = payload[os.write(fd, payload) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_checkpoint(path: Path) -> Saved | None:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise UsageError(f"{path}: cannot read the logwatch checkpoint: {err.strerror}") from None
    return parse_checkpoint(text, str(path))


def parse_checkpoint(text: str | bytes, where: str) -> Saved:
    """A saved checkpoint, or :class:`~tocsin.errors.UsageError`: starting over silently would count
    every line again."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") not in (1, CHECKPOINT_VERSION):
            raise ValueError("not a logwatch checkpoint of a known version")
        files = data.get("files", {})
        if not isinstance(files, dict) or not all(
            isinstance(v, list) and all(isinstance(e, dict) for e in v) for v in files.values()
        ):
            raise ValueError("files is not an object of lists of file entries")
        epoch, seq = data.get("epoch", ""), data.get("seq")
        if not isinstance(epoch, str):
            raise ValueError(f"epoch {epoch!r} is not a string")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 0):
            raise ValueError(f"seq {seq!r} is not a save number")
        counts = Counts.from_json(data.get("counts", {}))
        saved = Saved(int(data["version"]), files, counts, epoch, seq)
        from ._filestate import FileState

        for entries in files.values():
            for entry in entries:
                FileState.from_json(entry)
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        raise UsageError(
            f"{where}: the logwatch checkpoint is unreadable ({str(err)[:200]}); move it away to start "
            "over (every line present will be counted again) or put back a copy"
        ) from None
    return saved


class CountsCollector(Collector):
    """Serves a published snapshot of :class:`Counts` (plus gauges) in the Prometheus text format."""

    def __init__(self, patterns: Sequence[PatternConfig]) -> None:
        self._patterns = list(patterns)
        self._lock = threading.Lock()
        self._counts = Counts()
        self._gauges: dict[str, tuple[str, dict[tuple[str, str], float]]] = {}

    def publish(
        self, counts: Counts | None, gauges: dict[str, tuple[str, dict[tuple[str, str], float]]]
    ) -> None:
        """Show a copy of ``counts`` (None: keep the last one) and ``gauges``
        (``{name: (help, {(label, value): v})}``)."""
        snapshot = (
            self._counts if counts is None else Counts.from_json(json.loads(json.dumps(counts.to_json())))
        )
        with self._lock:
            self._counts, self._gauges = snapshot, gauges

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            counts, gauges = self._counts, self._gauges
        for pattern in self._patterns:
            name = pattern.counter_name
            family = CounterMetricFamily(
                name.removesuffix("_total"),
                pattern.help or f"Log lines matching {pattern.regex}",
                labels=pattern.label_names,
            )
            for labels, value in counts.patterns.get(name, {}).items():
                family.add_metric(list(labels), value)
            if not pattern.label_names and not counts.patterns.get(name):
                family.add_metric([], 0.0)
            yield family
        last = GaugeMetricFamily(
            "log_pattern_last_match_timestamp_seconds",
            "When a pattern last matched (Unix time).",
            labels=["pattern"],
        )
        for pattern in self._patterns:
            if pattern.counter_name in counts.last_match:
                last.add_metric([pattern.name], counts.last_match[pattern.counter_name])
        yield last
        lines = CounterMetricFamily(
            "log_lines", "Complete log lines read, by source and level.", labels=["source", "level"]
        )
        for (source, level), value in sorted(counts.lines.items()):
            lines.add_metric([source, level], value)
        yield lines
        for key, (name, help_text) in _STATS.items():
            yield CounterMetricFamily(
                name.removesuffix("_total"), help_text, value=counts.stats.get(key, 0.0)
            )
        for name, (help_text, values) in gauges.items():
            label = next(iter(values))[0] if values else ""
            gauge = GaugeMetricFamily(name, help_text, labels=[label] if label else [])
            for (_, label_value), value in values.items():
                gauge.add_metric([label_value] if label else [], value)
            yield gauge
