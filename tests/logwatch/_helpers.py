"""Seed 003's configuration, a rotating log writer that knows exactly what it wrote, a watcher subprocess."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import wait_for

SEED_003_PATTERNS = """\
patterns:
  - {name: orders_archived, regex: '✅ Archived (?P<count>\\d+) orders', value: count}
  - {name: change_stream_opened, regex: '✅ Change Stream opened successfully'}
  - {name: database_connected, regex: '✅ Connected to database'}
  - {name: orders_incomplete, regex: '⚠️  Order .+ is incomplete'}
  - {name: orders_duplicates, regex: '⚠️  Order .+ already archived'}
  - {name: resume_token_load_failures, regex: '⚠️  Could not load resume token'}
  - {name: connection_errors, regex: '❌ Failed to connect to MongoDB'}
  - {name: order_enrich_errors, regex: '❌ Error enriching order (?P<kind>\\w+)'}
  - {name: change_stream_errors, regex: '❌ Change Stream error'}
"""
LEVEL_REGEX = r"'\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\]'"


def seed_config(path_glob: str, *, store: bool = True, extra: str = "", retention: str = "7d") -> str:
    """Seed 003's logwatch.yaml following ``path_glob``."""
    return (
        f"files:\n  - path: '{path_glob}'\n    source: archiver\n    level: {LEVEL_REGEX}\n{extra}"
        + SEED_003_PATTERNS
        + (f"store: {{retention: {retention}}}\n" if store else "store: {enabled: false}\n")
        + "poll_interval: 50ms\n"
    )


# (template, level, pattern it counts, how much) — {i} makes every line (and every file head) unique
_KINDS: list[tuple[str, str, str | None, int]] = [
    ("📦 Found {n} delivered orders", "INFO", None, 0),
    ("✅ Archived {n} orders", "INFO", "orders_archived_total", -1),  # -1: adds n
    ("✅ Change Stream opened successfully", "INFO", "change_stream_opened_total", 1),
    ("✅ Connected to database", "INFO", "database_connected_total", 1),
    ("⚠️  Order ORD-{i} is incomplete", "WARNING", "orders_incomplete_total", 1),
    ("⚠️  Order ORD-{i} already archived", "WARNING", "orders_duplicates_total", 1),
    ("⚠️  Could not load resume token", "WARNING", "resume_token_load_failures_total", 1),
    ("❌ Failed to connect to MongoDB: timed out", "ERROR", "connection_errors_total", 1),
    ("❌ Error enriching order KeyError", "ERROR", "order_enrich_errors_total", 1),
    ("❌ Change Stream error: cursor killed", "ERROR", "change_stream_errors_total", 1),
    ("📊 Progress: {n}/150 processed", "DEBUG", None, 0),
    ("heartbeat", "DEBUG", None, 0),
]


def line(i: int) -> tuple[bytes, str, str | None, int]:
    """The ``i``-th line of the synthetic archiver log and what it must count."""
    template, level, counter, amount = _KINDS[(i * 7) % len(_KINDS)]
    n = i % 150 + 1
    text = f"2025-10-16 12:34:56 [{level}] [batch_archiver] seq={i} " + template.format(i=i, n=n) + "\n"
    return text.encode(), level, counter, n if amount == -1 else amount


@dataclass
class Written:
    """What the writer wrote: the totals the watcher must report, exactly."""

    lines: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    levels: Counter[str] = field(default_factory=Counter)
    rotations: int = 0


def write_lines(
    path: Path, total: int, *, rotations: int = 0, duration: float = 0.0, batch: int = 500
) -> Written:
    """Append ``total`` lines to ``path`` in batches, rotating ``rotations`` times (even: rename and create,
    odd: copytruncate, done as logrotate does it: copy, then truncate; the writer pauses meanwhile), pacing
    itself to last about ``duration`` seconds."""
    written = Written()
    every = total // (rotations + 1) if rotations else total + 1
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.monotonic()
    i = 0
    try:
        while i < total:
            chunk = []
            for _ in range(min(batch, total - i)):
                data, level, counter, amount = line(i)
                chunk.append(data)
                written.levels[level] += 1
                if counter:
                    written.counters[counter] += amount
                i += 1
                if rotations and i % every == 0 and written.rotations < rotations:
                    break
            os.write(fd, b"".join(chunk))
            written.lines = i
            if rotations and i % every == 0 and written.rotations < rotations:
                written.rotations += 1
                rotated = path.with_name(f"{path.name}.{written.rotations}")
                if written.rotations % 2:
                    os.close(fd)
                    os.rename(path, rotated)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                else:
                    shutil.copyfile(path, rotated)
                    os.truncate(path, 0)
            if duration:
                ahead = start + duration * i / total - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    finally:
        os.close(fd)
    return written


class WatcherProcess:
    """``python -m tocsin.logwatch`` as a real child process, with /metrics read over HTTP."""

    def __init__(self, config: Path, state_dir: Path, *extra: str) -> None:
        self.config, self.state_dir, self.extra = config, state_dir, extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        err = self.state_dir.parent / f"watcher-{self.starts}.err"
        cmd = [sys.executable, "-m", "tocsin.logwatch", "--config", str(self.config)]
        cmd += [
            "--state-dir",
            str(self.state_dir),
            "--port",
            "0",
            "--rotate-wait",
            "0.3",
            "--park-after",
            "0.5",
            *self.extra,
        ]
        with open(err, "wb") as stderr:
            self.proc = subprocess.Popen(cmd, stderr=stderr, stdout=subprocess.DEVNULL)

        def port() -> str | None:
            assert self.proc is not None and self.proc.poll() is None, err.read_text()
            found = re.search(r"http://(127\.0\.0\.1:\d+)/metrics", err.read_text())
            return found.group(1) if found else None

        self.url = f"http://{wait_for(port, timeout=30, what='logwatch /metrics')}/metrics"

    def __enter__(self) -> WatcherProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)

    def metrics(self) -> dict[str, float]:
        """Every sample as ``name{labels}`` (labels sorted) → value; plus ``name`` summed over labels."""
        text = httpx.get(self.url, timeout=5).text
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}"] = sample.value
                out[sample.name] = out.get(sample.name, 0.0) + sample.value
        return out

    def wait_caught_up(self, lines: int, timeout: float = 60) -> dict[str, float]:
        """Poll until every written line is counted and nothing is pending, then return the metrics."""

        def done() -> dict[str, float] | None:
            m = self.metrics()
            caught_up = m.get("log_lines_total", 0) >= lines and m.get("logwatch_pending_bytes", 1) == 0
            return m if caught_up else None

        return wait_for(done, timeout=timeout, interval=0.1, what=f"{lines} lines counted")
