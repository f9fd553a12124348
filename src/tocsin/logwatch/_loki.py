"""Optional shipping of stored lines to Loki's HTTP push API, batched, retried with backoff.

Lines are handed over after each checkpoint (so only lines counted and saved are shipped), grouped
into one stream per (source, level) plus the configured labels, and pushed by a background thread
every ``batch_wait`` or ``batch_size`` lines. A 429, a 5xx or a connection error is retried with
exponential backoff (0.5 s doubling to 30 s, 8 attempts); a 4xx other than 429 is not (the batch
would never be accepted). Lines that could not be delivered are counted in
``logwatch_loki_dropped_lines_total``. Delivery is at most once across a crash of the watcher: the
local store is the exact record, Loki the shared one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import orjson

from .config import LokiConfig
from .store import Row

__all__ = ["LokiShipper"]

log = logging.getLogger(__name__)

_ATTEMPTS = 8
_MAX_QUEUE = 100_000  # lines waiting; past this, new lines are dropped (and counted) rather than buffered


class LokiShipper:
    """``submit(rows)`` from the watcher; a daemon thread pushes. ``close()`` flushes what it can."""

    def __init__(self, config: LokiConfig, base_dir: str | Path = ".", backoff: float = 0.5) -> None:
        self.config = config
        self.url = config.url.rstrip("/") + "/loki/api/v1/push"
        headers = {"Content-Type": "application/json"}
        if config.tenant:
            headers["X-Scope-OrgID"] = config.tenant
        auth = None
        if config.password_file:
            path = Path(config.password_file)
            password = (path if path.is_absolute() else Path(base_dir) / path).read_text().strip()
            auth = httpx.BasicAuth(config.username or "", password)
        self._client = httpx.Client(headers=headers, auth=auth, timeout=10.0)
        self._queue: queue.Queue[Row] = queue.Queue()
        self._wait = config.batch_wait
        self._backoff = backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.dropped = 0
        self.pushed = 0
        self._thread = threading.Thread(target=self._loop, name="tocsin-loki", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[Row]) -> None:
        for row in rows:
            if self._queue.qsize() >= _MAX_QUEUE:
                with self._lock:
                    self.dropped += 1
                continue
            self._queue.put(row)

    def take_dropped(self) -> int:
        with self._lock:
            dropped, self.dropped = self.dropped, 0
        return dropped

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._client.close()

    def _loop(self) -> None:
        while True:
            batch = self._collect()
            if batch:
                self._push(batch)
            elif self._stop.is_set():
                return

    def _collect(self) -> list[Row]:
        batch: list[Row] = []
        deadline = time.monotonic() + self._wait
        while len(batch) < self.config.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._stop.is_set() and self._queue.empty()):
                break
            try:
                batch.append(self._queue.get(timeout=min(remaining, 0.1)))
            except queue.Empty:
                continue
        return batch

    def _payload(self, batch: list[Row]) -> bytes:
        streams: dict[tuple[str, str], list[list[str]]] = {}
        for ts, level, source, _path, _gen, _off, message in batch:
            streams.setdefault((source, level), []).append([str(int(ts * 1e9)), message])
        return orjson.dumps(
            {
                "streams": [
                    {
                        "stream": {**self.config.labels, "source": source, "level": level.lower()},
                        "values": values,
                    }
                    for (source, level), values in streams.items()
                ]
            }
        )

    def _push(self, batch: list[Row]) -> None:
        body = self._payload(batch)
        delay = self._backoff
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                response = self._client.post(self.url, content=body)
            except httpx.HTTPError as err:
                reason = f"{type(err).__name__}: {err}"
            else:
                if response.status_code < 300:
                    self.pushed += len(batch)
                    return
                if response.status_code != 429 and response.status_code < 500:
                    reason = f"HTTP {response.status_code} (not retried): {response.text[:200]}"
                    break
                reason = f"HTTP {response.status_code}"
            if attempt == _ATTEMPTS or (self._stop.is_set() and attempt > 2):
                break
            log.warning("logwatch: Loki push failed (%s), retry %d in %.1fs", reason, attempt, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        log.error("logwatch: dropping %d lines Loki did not accept: %s", len(batch), reason)
        with self._lock:
            self.dropped += len(batch)
