"""Seed 003's configuration, a rotating log writer that knows exactly what it wrote, a watcher subprocess."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import wait_for

from tocsin.logwatch.config import LogsConfig, config_to_dict

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


def seed_config(
    path_glob: str, *, store: bool = True, extra: str = "", retention: str = "7d", poll: str = "50ms"
) -> str:
    """Seed 003's logwatch.yaml following ``path_glob``."""
    return (
        f"files:\n  - path: '{path_glob}'\n    source: archiver\n    level: {LEVEL_REGEX}\n{extra}"
        + SEED_003_PATTERNS
        + (f"store: {{retention: {retention}}}\n" if store else "store: {enabled: false}\n")
        + f"poll_interval: {poll}\n"
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

    def add(self, i: int) -> bytes:
        """The ``i``-th line, accounted for (``lines`` is the writer's to set once it is written)."""
        data, level, counter, amount = line(i)
        self.levels[level] += 1
        if counter:
            self.counters[counter] += amount
        return data


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
                chunk.append(written.add(i))
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
        self.wrapper: list[str] = []  # a command to run it under, e.g. setpriv

    def start(self) -> None:
        self.starts += 1
        err = self.config.parent / f"watcher-{self.starts}.err"  # not on the state's disk, which may fill
        compiled = self.config.with_suffix(".json")  # what `tocsin up` runs the watcher on
        compiled.write_text(json.dumps(config_to_dict(load_yaml(self.config))))
        cmd = [sys.executable, "-m", "tocsin.logwatch", "--config", str(compiled)]
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
            self.proc = subprocess.Popen([*self.wrapper, *cmd], stderr=stderr, stdout=subprocess.DEVNULL)

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

    def wait_caught_up(self, lines: int, stall: float = 60.0) -> dict[str, float]:
        """Poll until every written line is counted and nothing is pending, then return the metrics.

        Bounded by the work, not by the wall clock: a backlog of a million lines on a loaded machine
        takes as long as it takes, so this fails only when the watcher has made no progress at all
        (lines counted, bytes read, bytes pending all unchanged) for ``stall`` seconds — a hang, or
        lines lost — or has exited; the message tells which, and how far it got."""
        assert self.proc is not None
        last: tuple[float, float, float] | None = None
        since = time.monotonic()
        while True:
            assert self.proc.poll() is None, f"the watcher exited ({self.proc.returncode}) while catching up"
            try:
                m = self.metrics()
            except httpx.HTTPError:  # a busy machine: one slow scrape is not a verdict
                m = {}
            counted, pending = m.get("log_lines_total", 0), m.get("logwatch_pending_bytes", -1)
            if counted >= lines and pending == 0:
                return m
            progress = (counted, m.get("logwatch_read_bytes_total", 0), pending)
            if progress != last:
                last, since = progress, time.monotonic()
            elif time.monotonic() - since > stall:
                raise AssertionError(
                    f"no progress for {stall:.0f}s: {counted:.0f} of {lines} lines counted, "
                    f"{pending:.0f} bytes pending ({'lines lost' if pending == 0 else 'a hang'})"
                )
            time.sleep(0.1)


def write_with_rotating_handler(
    path: Path, total: int, *, max_bytes: int = 200_000, backup_count: int = 100, duration: float = 0.0
) -> Written:
    """``total`` lines through Python's own ``RotatingFileHandler`` (rename rotation: ``app.log`` →
    ``app.log.1`` → ``app.log.2`` …, the oldest deleted past ``backup_count``), paced over ``duration``."""
    import logging
    import logging.handlers

    written = Written()

    class Counting(logging.handlers.RotatingFileHandler):
        def doRollover(self) -> None:
            written.rotations += 1
            super().doRollover()

    handler = Counting(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.Logger(f"rotating-{path}")
    logger.addHandler(handler)
    start = time.monotonic()
    try:
        for i in range(total):
            logger.warning(written.add(i).decode().rstrip("\n"))
            written.lines = i + 1
            if duration and i % 500 == 0:
                ahead = start + duration * i / total - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    finally:
        handler.close()
    return written


def _shift(path: Path, keep: int) -> None:
    """``app.log.K`` → ``app.log.K+1`` from the oldest down, as RotatingFileHandler and logrotate do."""
    for k in range(keep, 0, -1):
        older = path.with_name(f"{path.name}.{k}")
        if older.exists():
            older.rename(path.with_name(f"{path.name}.{k + 1}"))


def write_mixed(
    path: Path,
    total: int,
    *,
    rotations: int,
    duration: float,
    counted: Callable[[int], None],
    seed: int = 3,
    batch: int = 400,
) -> Written:
    """``total`` lines, each batch written in pieces cut at random bytes (so the file often ends inside
    a line), rotated ``rotations`` times at line boundaries, in turn:

    - rename and create, after shifting ``app.log.K`` → ``app.log.K+1`` (numbered, like logrotate);
    - copytruncate: shift, copy to ``app.log.1``, truncate in place (the writer pauses meanwhile);
    - truncate and regrow: once ``counted(lines written)`` returns (the watcher has counted every
      line — else the truncation itself would destroy unread lines), truncate in place and write, in
      one write, more than the file held: it regrows past the old offset before the next poll.
    """
    rng = random.Random(seed)
    written = Written()
    every = total // (rotations + 1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.monotonic()
    i, since_rotation, regrow = 0, 0, False
    try:
        while i < total:
            size = min(since_rotation + every // 4, total - i) if regrow else min(batch, total - i)
            if not regrow:
                size = min(size, every - since_rotation) if written.rotations < rotations else size
            chunk = []
            for _ in range(size):
                chunk.append(written.add(i))
                i += 1
            data = b"".join(chunk)
            cuts = sorted(rng.sample(range(1, len(data)), 2)) if len(data) > 2 and not regrow else []
            for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
                os.write(fd, data[a:b])
                time.sleep(0.002)  # the reader may poll now, mid-line
            written.lines = i
            since_rotation = 0 if regrow else since_rotation + size
            regrow = False
            if since_rotation >= every and written.rotations < rotations:
                kind = written.rotations % 3
                written.rotations += 1
                if kind == 0:
                    os.close(fd)
                    _shift(path, rotations)
                    os.rename(path, path.with_name(f"{path.name}.1"))
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                elif kind == 1:
                    _shift(path, rotations)
                    shutil.copyfile(path, path.with_name(f"{path.name}.1"))
                    os.truncate(path, 0)
                else:
                    counted(i)
                    os.truncate(path, 0)
                    regrow = True  # the next write holds more lines than the file did
                if not regrow:
                    since_rotation = 0
            ahead = start + duration * i / total - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    finally:
        os.close(fd)
    return written


def run_with_kills(watcher: WatcherProcess, lines: int, write: Callable[[], Written]) -> Written:
    """Run ``write`` (``lines`` lines) in a thread while the watcher is killed with SIGKILL at random
    moments and restarted; the watcher is left running."""
    rng = random.Random(7)
    result: list[Written] = []
    writer = threading.Thread(target=lambda: result.append(write()))
    watcher.start()
    writer.start()
    mid_stream = kills = 0
    stop = threading.Event()
    while writer.is_alive() or (mid_stream < 3 and kills < 30):  # on a slow machine, also while catching up
        stop.wait(rng.uniform(0.2, 1.2))  # a random moment, not a wait for a condition
        try:
            counted = watcher.metrics().get("log_lines_total", 0)
        except httpx.HTTPError:
            counted = 0
        if counted >= lines and not writer.is_alive():
            break  # caught up: a kill now would not be mid-stream
        watcher.kill9()
        kills += 1
        mid_stream += 0 < counted < lines
        stop.wait(rng.uniform(0.0, 0.5))  # down for a while: rotations happen meanwhile
        watcher.start()
    writer.join()
    assert result, "the writer failed"
    assert mid_stream >= 3, f"killed mid-stream only {mid_stream} times: the test proves too little"
    return result[0]


def load_yaml(path: Path, section: str | None = None) -> LogsConfig:
    """A logwatch.yaml as ``tocsin logwatch`` reads it: validated by the spec's model, then compiled."""
    from tocsin.cli._logwatch import watch_config

    config: LogsConfig = watch_config(str(path), section)
    return config


def fill_disk(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; the filler's path (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def counted_then_full(watcher: WatcherProcess, log: Path, disk: Path) -> Path:
    """Start ``watcher``, let it count 1000 lines written to ``log``, then fill ``disk`` (see
    :func:`fill_disk`)."""
    watcher.start()
    first = write_lines(log, 1000)
    watcher.wait_caught_up(first.lines)
    return fill_disk(disk)
