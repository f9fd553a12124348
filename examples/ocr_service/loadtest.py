"""The plan's load test (its ``node load-test.js``): documents posted and timed end to end.

``--count`` documents, ``--concurrency`` in flight, each ``POST /documents?wait=60`` (the answer
comes once a worker read it); ``--repeat`` of them re-submit a page already sent (cache hits).
Prints the throughput in documents a minute against the plan's 30, the latency percentiles against
its p95 < 2 s, the errors and the share answered from the cache.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import time

import httpx

from .documents import TYPES, draw

__all__ = ["main"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(base_url: str, count: int, concurrency: int, repeat: float) -> int:
    pages = itertools.count(int(time.time()) % 10**6 * 100 + 90)
    bodies: list[tuple[str, bytes]] = []
    new: list[tuple[str, bytes]] = []
    for i in range(count):
        if new and int((i + 1) * repeat) > int(i * repeat):  # `repeat` of them, evenly spread
            bodies.append(new[(i * 7) % len(new)])
        else:
            kind = TYPES[len(new) % len(TYPES)]
            new.append((kind, draw(kind, next(pages))))
            bodies.append(new[-1])
    latencies: list[float] = []
    errors = 0

    def one(item: tuple[str, bytes]) -> tuple[float, bool]:
        started = time.perf_counter()
        with httpx.Client(base_url=base_url, timeout=70) as http:
            answer = http.post("/documents", params={"type": item[0], "wait": 60}, content=item[1])
        return time.perf_counter() - started, answer.status_code == 200

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        for seconds, ok in pool.map(one, bodies):
            latencies.append(seconds)
            errors += not ok
    wall = time.perf_counter() - started
    per_minute = count / wall * 60
    p95 = _percentile(latencies, 0.95)
    print(f"{count} documents in {wall:.1f} s: {per_minute:.0f} documents/min (plan: > 30)")
    print(f"latency p50 {_percentile(latencies, 0.5):.2f} s, p95 {p95:.2f} s (plan: < 2 s, end to end "
          f"here: queue wait included), p99 {_percentile(latencies, 0.99):.2f} s")  # fmt: skip
    print(f"errors {errors} ({errors / count:.1%}; plan: < 2 %)")
    return 0 if errors / count < 0.02 and per_minute > 30 else 1
