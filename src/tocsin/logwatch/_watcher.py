"""The watcher: tails → one-pass matching → counts, store rows → one checkpoint per poll.

Per poll: every source's :class:`~._tail.Tail` emits blocks of complete lines; each block is
counted by :meth:`~._source.Source.process`. Then the lines are added to the store (if it is on),
in one transaction with a copy of the checkpoint — positions *and* counts — which is then written
atomically to a JSON file, and only then ``/metrics`` shows the new values. A crash before the
store's commit resumes from the previous checkpoint and recounts exactly the lines it had not
saved; a crash after it, before the file's rename, resumes from the store's copy (same epoch, next
``seq``), so the store never holds a line twice. (Its (generation, offset) keys alone cannot tell:
a file that appeared or was truncated since the last checkpoint gets new generations at a restart.)
A state directory's first checkpoint file is written before anything is read: it names the epoch a
store copy must have to be trusted, so moving the file away still starts over.

When the checkpoint cannot be written (disk full, I/O error), nothing is lost: the watcher stops
reading, keeps serving the last saved values, sets ``logwatch_checkpoint_failing`` to 1 and tries
again every poll; once a save succeeds it goes on from where it was.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from ._filestate import FileState
from ._levels import level_rank
from ._loki import LokiShipper
from ._say import say
from ._source import Source
from ._state import (
    CHECKPOINT_VERSION,
    Counts,
    CountsCollector,
    Saved,
    encode_checkpoint,
    new_epoch,
    parse_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from ._tail import MAX_PER_POLL
from .config import LogsConfig
from .store import LogStore, Row, is_damaged, open_store, quarantine

__all__ = ["CHECKPOINT_NAME", "Watcher"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "logwatch-checkpoint.json"
_TAIL_STATS = ("rotations", "truncations", "lost_files", "errors")
_STORED_PER_POLL = 1 << 20  # storing a line costs ~20x counting it: smaller polls, frequent checkpoints


class Watcher:
    """Follows every configured file; :meth:`poll` once, or loop it (see ``tocsin.logwatch.run``)."""

    def __init__(
        self,
        config: LogsConfig,
        state_dir: str | Path,
        base_dir: str | Path | None = None,
        *,
        engine: str = "auto",
        rotate_wait: float = 2.0,
        park_after: float = 60.0,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir = Path(config.base_dir if base_dir is None else base_dir)
        self.checkpoint_path = self.state_dir / CHECKPOINT_NAME
        self._state_key = str(self.state_dir.resolve())  # whose checkpoint copies, in a shared store
        self._epoch, self._seq = new_epoch(), 0
        self.counts = Counts()
        self.collector = CountsCollector(config.patterns)
        self.sources = [
            Source.build(
                fc,
                config.patterns,
                self._resolve(fc.path),
                engine,
                rotate_wait=rotate_wait,
                park_after=park_after,
                max_per_poll=_STORED_PER_POLL if config.store.enabled or config.loki else MAX_PER_POLL,
            )
            for fc in config.files
        ]
        self.store: LogStore | None = None
        if config.store.enabled:
            path = self._resolve(config.store.path) if config.store.path else self.state_dir / "logs.db"
            self.store = open_store(path)
        self._store_min_rank = level_rank(config.store.min_level)
        self._rows: list[Row] = []
        self._dir_sizes: dict[tuple[str, str], float] = {}
        self._next_dir_scan = 0.0
        self._next_compact = 0.0
        self.saved = True  # the last checkpoint was written
        self._save_error = ""
        self._old_checkpoint = False
        self._polled = False
        self.loki = LokiShipper(config.loki, self.base_dir) if config.loki else None
        first = self._restore()
        for source in self.sources:  # every level's counter exists from the start, at 0
            for level in source.levels:
                self.counts.lines.setdefault((source.name, level), 0)
        if first:
            self.checkpoint()  # the epoch, on disk before any store copy names it (reading waits for it)
        else:
            self._publish()

    @property
    def save_error(self) -> str:
        """Why the last checkpoint could not be saved ('' when it was)."""
        return self._save_error

    @property
    def engines(self) -> dict[str, str]:
        return {s.name: s.matcher.engine for s in self.sources}

    def _resolve(self, path: str) -> Path:
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else self.base_dir / p

    # ------------------------------------------------------------------------------------ checkpoint

    def _restore(self) -> bool:
        """Load the last checkpoint; True if the state directory has no checkpoint file yet."""
        saved = read_checkpoint(self.checkpoint_path)
        first = saved is None
        if saved is not None and self.store is not None:
            saved = self._newer_in_store(saved, self.store)
        if saved is None and self.store is not None:  # before version 2 it lived in the store
            text = self.store.load_checkpoint()
            saved = None if text is None else parse_checkpoint(text, f"{self.store.path} (checkpoint table)")
            self._old_checkpoint = saved is not None
        if saved is None:
            return first
        self.counts = saved.counts
        if saved.epoch:  # else a checkpoint from before epochs: this watcher's new one goes on
            self._epoch, self._seq = saved.epoch, saved.seq or 0
        for source in self.sources:
            if source.key in saved.files:
                source.tail.restore(saved.files[source.key], siblings_saved=saved.version >= 2)
        return first

    def _newer_in_store(self, saved: Saved, store: LogStore) -> Saved:
        """The copy committed with the store's last rows if the checkpoint file is older: the watcher
        was killed between that commit and the file's rename."""
        text = store.watcher_checkpoint(self._state_key)
        if text is None or not saved.epoch or saved.seq is None:
            return saved
        copy = parse_checkpoint(text, f"{store.path} (the checkpoint committed with the lines)")
        newer = copy.epoch == saved.epoch and copy.seq is not None and copy.seq > saved.seq
        return copy if newer else saved

    def checkpoint(self) -> bool:
        """Store the queued lines, then save positions and counts in one atomic write, then publish.
        False (and nothing published) if it could not be saved; the next call tries again."""
        counts = self.counts
        if self.loki is not None:
            counts.stats["loki_dropped"] = counts.stats.get("loki_dropped", 0) + self.loki.take_dropped()
        for source in self.sources:
            for stat in _TAIL_STATS:
                counts.stats[stat] = counts.stats.get(stat, 0) + getattr(source.tail, stat)
                setattr(source.tail, stat, 0)
        seq = self._seq + 1
        payload = encode_checkpoint(
            {
                "version": CHECKPOINT_VERSION,
                "epoch": self._epoch,
                "seq": seq,
                # a tail neither restored nor polled yet is not saved: at a restart it starts afresh
                "files": {s.key: s.tail.state() for s in self.sources if s.tail.started},
                "counts": counts.to_json(),
            }
        )
        try:
            if self.store is not None and self._rows:
                self.store.add(self._rows, (self._state_key, payload.decode()))
            write_checkpoint(self.checkpoint_path, payload)
        except (OSError, sqlite3.Error) as err:
            if self.store is not None and is_damaged(err):
                self.store = quarantine(self.store)  # a new, empty store; its lines are added at the retry
            self._save_failed(err)
            return False
        self._seq = seq
        if not self.saved:
            say("checkpoint saved again, reading goes on")
        self.saved, self._save_error = True, ""
        if self._old_checkpoint and self.store is not None:
            try:
                self.store.drop_checkpoint()
                self._old_checkpoint = False
            except sqlite3.Error:
                pass  # the JSON file wins anyway; dropped at a later save
        rows, self._rows = self._rows, []
        self._publish()
        if self.loki is not None and rows:
            self.loki.submit(rows)  # only lines whose positions are saved: never shipped twice
        return True

    def _save_failed(self, err: BaseException) -> None:
        reason = getattr(err, "strerror", None) or str(err)
        if reason != self._save_error:
            say(
                f"cannot save the checkpoint in {self.state_dir}: {reason} "
                "(reading pauses, nothing is lost; retried every poll)"
            )
        self.saved, self._save_error = False, reason
        self._publish(counts_changed=False)

    def _publish(self, counts_changed: bool = True) -> None:
        gauges: dict[str, tuple[str, dict[tuple[str, str], float]]] = {
            "logwatch_files_watched": (
                "Files tracked: live files, their rotated siblings, vanished ones still remembered.",
                {("", ""): float(sum(len(s.tail.files) for s in self.sources))},
            ),
            "logwatch_pending_bytes": (
                "Bytes written to watched files and not counted yet.",
                {("", ""): float(self.pending_bytes())},
            ),
            "logwatch_checkpoint_failing": (
                "1 while the checkpoint cannot be saved (disk full?): reading is paused.",
                {("", ""): 0.0 if self.saved else 1.0},
            ),
            "log_directory_size_bytes": (
                "Total size of the files under a watched directory.",
                dict(self._dir_sizes),
            ),
        }
        self.collector.publish(self.counts if counts_changed else None, gauges)

    def pending_bytes(self) -> int:
        return sum(source.tail.pending_bytes() for source in self.sources)

    # ------------------------------------------------------------------------------------ polling

    def poll(self) -> bool:
        """One pass over every source; checkpoints if anything was read. True if lines were read."""
        now = time.monotonic()
        if now >= self._next_dir_scan:
            self._scan_directories()
            self._next_dir_scan = now + self.config.directory_size_interval
        if not self.saved and not self.checkpoint():
            return False  # still cannot save: read nothing more until it can
        progressed = False
        rows = self._rows if (self.store is not None or self.loki is not None) else None
        for source in self.sources:

            def emit(state: FileState, block: bytes, source: Source = source) -> None:
                source.process(state, block, self.counts, rows, self._store_min_rank)

            if source.tail.poll(emit):
                progressed = True
        if self.store is not None and now >= self._next_compact:
            self._compact()
            self._next_compact = now + self.config.store.compact_every
        if (
            progressed
            or not self._polled  # so that a restart knows which siblings were there: they are not new
            or any(any(getattr(s.tail, stat) for stat in _TAIL_STATS) for s in self.sources)
        ):
            self._polled = True
            self.checkpoint()
        else:
            self._publish(counts_changed=False)
        return progressed

    def _compact(self) -> None:
        assert self.store is not None
        try:
            self.store.compact(self.config.store.retention)
        except sqlite3.Error as err:  # disk full: the lines stay a while longer
            log.warning("logwatch: store compaction failed: %s", err)

    def _scan_directories(self) -> None:
        sizes: dict[tuple[str, str], float] = {}
        for directory in self.config.directories:
            total = 0
            for root, _dirs, files in os.walk(self._resolve(directory.path)):  # errors: that part is skipped
                for name in files:
                    try:
                        total += os.lstat(os.path.join(root, name)).st_size
                    except OSError:
                        continue
            sizes[("path", directory.path)] = float(total)
        self._dir_sizes = sizes

    def close(self) -> None:
        """Save a last checkpoint and release files and the store."""
        try:
            self.checkpoint()
        finally:
            for source in self.sources:
                source.tail.close()
            if self.store is not None:
                self.store.close()
            if self.loki is not None:
                self.loki.close()
