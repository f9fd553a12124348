"""Readers, as browsers would be: log in, open the catalog, read books, report their page timings.

Each reader is a thread with its own cookie jar, in a closed loop: a visit opens a book's reader page,
fetches the book, saves the reading position three times (the reader page does it every few
seconds), sometimes goes back to the catalog, then reports what the page's beacon would have (First
Contentful Paint, Time to Interactive, its API calls as timed here, zero JS errors). One reader in
twenty mistypes its password once in a while. A load balancer probes ``/api/health`` every second.
Errors, timeouts and refusals are counted and printed, never fatal: the traffic runs through every
fault.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter
from typing import Any

import httpx

from tocsin.signals import on_signals

from .store import READER_PASSWORD

__all__ = ["main"]

_stop = threading.Event()
_outcomes: Counter[str] = Counter()
_lock = threading.Lock()
#: 85 % of reads go to 20 popular books (what keeps the cache's hit rate high)
POPULAR = list(range(1, 21))


def _count(what: str) -> None:
    with _lock:
        _outcomes[what] += 1


def _call(client: httpx.Client, method: str, path: str, api: list[dict[str, Any]] | None = None,
          **kwargs: Any) -> httpx.Response | None:  # fmt: skip
    started = time.monotonic()
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        _count(type(error).__name__)
        if api is not None:
            api.append({"path": path, "method": method, "status": 0, "duration": time.monotonic() - started})
        return None
    _count(str(response.status_code))
    if api is not None:
        api.append({"path": path, "method": method, "status": response.status_code,
                    "duration": time.monotonic() - started})  # fmt: skip
    return response


def _beacon(client: httpx.Client, page: str, fcp: float, api: list[dict[str, Any]]) -> None:
    # interactive once the page's first fetch (its content) came back; later calls are the reader's
    report = {
        "page": page,
        "fcp": fcp,
        "tti": fcp + (api[0]["duration"] if api else 0.0),
        "errors": 0,
        "api": api,
    }
    _call(client, "POST", "/_tocsin/rum", content=json.dumps(report), headers={"Content-Type": "text/plain"})


def _login(client: httpx.Client, rng: random.Random, n: int) -> None:
    password = READER_PASSWORD if rng.random() > 0.05 else READER_PASSWORD.upper()
    _call(client, "POST", "/login", json={"username": f"reader{n}", "password": password})


def _reader(base: str, n: int) -> None:
    rng = random.Random(n)
    with httpx.Client(base_url=base, timeout=15) as client:
        visits = 0
        while not _stop.is_set():
            if visits % 20 == 0:
                _login(client, rng, n)
            visits += 1
            book = rng.choice(POPULAR) if rng.random() < 0.85 else rng.randint(1, 200)
            if rng.random() < 0.25:
                started = time.monotonic()
                _call(client, "GET", "/")
                fcp = time.monotonic() - started
                api: list[dict[str, Any]] = []
                _call(client, "GET", "/api/books", api)
                _beacon(client, "/", fcp, api)
            started = time.monotonic()
            _call(client, "GET", f"/books/{book}")
            fcp = time.monotonic() - started
            api = []
            _call(client, "GET", f"/api/books/{book}", api)
            for scene in range(3):
                if _stop.wait(rng.uniform(0.2, 0.5)):
                    return
                _call(client, "POST", f"/api/books/{book}/progress", api, json={"scene": scene})
            _beacon(client, f"/books/{book}", fcp, api)
            _stop.wait(rng.uniform(0.2, 0.6))


def _load_balancer(base: str) -> None:
    with httpx.Client(base_url=base, timeout=5) as client:
        while not _stop.wait(1.0):
            _call(client, "GET", "/api/health")


def main(base: str, readers: int) -> int:
    on_signals(_stop.set, (signal.SIGTERM, signal.SIGINT))
    threads = [threading.Thread(target=_reader, args=(base, n), daemon=True) for n in range(1, readers + 1)]
    threads.append(threading.Thread(target=_load_balancer, args=(base,), daemon=True))
    for thread in threads:
        thread.start()
    while not _stop.wait(10):
        with _lock:
            print("traffic:", dict(sorted(_outcomes.items())), flush=True)
            _outcomes.clear()
    for thread in threads:
        thread.join(timeout=20)
    return 0
