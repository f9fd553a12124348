"""The mail room: documents uploaded at a steady rate, a share of them re-submissions.

``--rate`` documents a second, in turn invoice, receipt, letter, form. Three in ten are new pages
(drawn by :mod:`.documents`); seven in ten re-submit one of the last 30 uploads, byte for byte (a
client retrying, a colleague scanning the same letter again): what the cache is for, so the hit
ratio sits near 70 %, above the plan's 30 % target. Fixed, not random, so a clean period is clean.

The scanner's state is read from ``<prefix>scanner`` every second: ``degraded`` (set by the
``low-confidence`` fault) draws every new page blurred and speckled, as a failing scanner does. Once
the scanner is fixed its bad scans leave the re-submission pool (a page is scanned again on a scanner
that works): they stayed there, the ``cache-bypass`` fault that follows flushed their cached readings,
and reading them again fired ``OcrConfidenceLow`` (< 90) as it ended, a false alert of the next fault.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import deque

import httpx
import redis

from tocsin.signals import on_signals

from .documents import TYPES, draw

__all__ = ["main"]

NEW_EVERY = (0, 3, 6)  # of each 10 uploads, these are new pages: 30 %


def main(base_url: str, client: redis.Redis, prefix: str, rate: float) -> int:
    stop = threading.Event()
    on_signals(stop.set, (signal.SIGTERM, signal.SIGINT))
    recent: deque[tuple[str, bytes, bool]] = deque(maxlen=30)  # (type, page, drawn degraded)
    pages = itertools.count(int(time.time()) % 10**6 * 100)  # new pages stay new across restarts
    degraded = False
    checked_at = 0.0
    started = time.monotonic()
    with httpx.Client(base_url=base_url, timeout=10) as http:
        for sent in itertools.count():
            wait = started + sent / rate - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            if stop.is_set():
                break
            if time.monotonic() - checked_at > 1.0:
                was_degraded = degraded
                try:
                    degraded = client.get(f"{prefix}scanner") == b"degraded"
                except redis.RedisError:
                    pass
                if was_degraded and not degraded:
                    kept = [page for page in recent if not page[2]]
                    recent.clear()
                    recent.extend(kept)
                checked_at = time.monotonic()
            if sent % 10 in NEW_EVERY or len(recent) < 5:
                kind = TYPES[sent % len(TYPES)]
                body = draw(kind, next(pages), degraded=degraded)
                recent.append((kind, body, degraded))
            else:
                kind, body, _ = recent[(sent * 7) % len(recent)]
            try:
                http.post("/documents", params={"type": kind}, content=body,
                          headers={"content-type": "image/png"})  # fmt: skip
            except httpx.HTTPError as exc:
                print(f"traffic: {exc!r}", flush=True)
    return 0
