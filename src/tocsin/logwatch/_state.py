"""Counters and positions, saved together in one atomic checkpoint, and exposed from the last one saved.

Counting exactly once across ``kill -9`` needs the counts and the positions
they correspond to in the *same* durable write: the checkpoint is one JSON
file written to a temporary name, fsynced, renamed over the old one, and the
directory fsynced. ``/metrics`` serves the values of the last checkpoint, so
what Prometheus saw never runs ahead of what a restart resumes from (a counter
that went backwards would read as a reset).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tocsin.errors import UsageError

from .config import PatternConfig

__all__ = ["Counts", "CountsCollector", "parse_checkpoint", "read_checkpoint", "write_checkpoint"]

OVERFLOW = "overflow"
_STATS = {
    "bytes_read": ("logwatch_read_bytes_total", "Bytes of complete lines read from log files."),
    "rotations": ("logwatch_rotations_total", "Files seen leaving their watched path (rename or deletion)."),
    "truncations": ("logwatch_truncations_total", "Truncations seen (copytruncate or a rewritten file)."),
    "lost_files": ("logwatch_lost_files_total", "Tracked files gone before they could be read to the end."),
    "series_dropped": ("logwatch_series_dropped_total", "Label sets folded into the overflow series."),
    "loki_dropped": ("logwatch_loki_dropped_lines_total", "Lines Loki did not accept after all retries."),
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
    def from_json(cls, data: dict[str, Any]) -> Counts:
        return cls(
            patterns={n: {tuple(k): float(v) for k, v in s} for n, s in data.get("patterns", {}).items()},
            last_match={k: float(v) for k, v in data.get("last_match", {}).items()},
            lines={(k[0], k[1]): int(v) for k, v in data.get("lines", [])},
            stats={k: float(v) for k, v in data.get("stats", {}).items()},
        )


def write_checkpoint(path: Path, data: dict[str, Any]) -> None:
    """Atomically replace ``path``: temp file, fsync, rename, fsync of the directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = json.dumps(data, separators=(",", ":")).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    try:
        return parse_checkpoint(path.read_bytes(), str(path))
    except FileNotFoundError:
        return None


def parse_checkpoint(text: str | bytes, where: str) -> dict[str, Any]:
    """A saved checkpoint, or :class:`~tocsin.errors.UsageError`: starting over silently would count
    every line again."""
    try:
        data = json.loads(text)
    except ValueError as err:
        data = {"error": str(err)}
    if not isinstance(data, dict) or data.get("version") != 1:
        raise UsageError(
            f"{where}: the logwatch checkpoint is unreadable or of another version "
            "(move it away to start over: every line present will be counted again)"
        )
    return data


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
