"""Health endpoint latency: tocsin's concurrent runner against the serial, hand-written seed-002 style.

Measured in one run:

1. five checks of 100 ms each: tocsin (concurrent) vs the same five run one
   after another, as seed 002's endpoint does (target: ~110 ms vs ~500 ms);
2. the real dependencies of seed 002 (PostgreSQL ``SELECT 1``, Redis set/get,
   disk, memory): tocsin vs a hand-written serial endpoint using the same drivers;
3. a health storm: 1,000 concurrent probes, how many times the dependency is hit
   (single-flight + cache) vs once per probe.

Needs PostgreSQL and Redis on 127.0.0.1 for part 2 (skipped with a note otherwise).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results

from tocsin.sdk.health import Health, checks
from tocsin.testing import fresh_metrics

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ROUNDS = 15


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


async def _timed(fn: Any, rounds: int = ROUNDS) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - started)
    return out


async def five_slow_checks() -> dict[str, Any]:
    async def slow() -> None:
        await asyncio.sleep(0.1)

    health = Health([checks.custom(f"check{i}", slow) for i in range(5)], cache_ttl=0)

    async def serial() -> None:  # seed 002: one try/except block after another
        for _ in range(5):
            try:
                await slow()
            except Exception:
                pass

    async def concurrent() -> None:
        await health.check("ready")

    tocsin = await _timed(concurrent)
    seed = await _timed(serial)

    def blocking_serial() -> None:  # seed 002 as written: sync calls in the request thread
        for _ in range(5):
            time.sleep(0.1)

    blocking = []
    for _ in range(5):
        started = time.perf_counter()
        blocking_serial()
        blocking.append(time.perf_counter() - started)
    return {
        "tocsin_concurrent_ms": _median_ms(tocsin),
        "serial_seed002_ms": _median_ms(seed),
        "serial_seed002_blocking_ms": _median_ms(blocking),
        "speedup": round(statistics.median(seed) / statistics.median(tocsin), 2),
    }


async def real_dependencies() -> dict[str, Any]:
    import psutil
    import psycopg
    import redis

    try:
        psycopg.connect(PG_DSN, connect_timeout=2).close()
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as err:
        return {"skipped": f"PostgreSQL/Redis not reachable: {type(err).__name__}"}

    health = Health(
        [
            checks.sql("database", PG_DSN),
            checks.redis("cache", REDIS_URL),
            checks.disk(path="/", min_free_percent=0),
            checks.memory(max_used_percent=100),
        ],
        cache_ttl=0,
    )
    cache = redis.Redis.from_url(REDIS_URL)

    def seed_002() -> dict[str, Any]:
        status: dict[str, Any] = {"status": "healthy", "services": {}}
        try:  # a new connection per probe, as the tocsin check makes
            with psycopg.connect(PG_DSN) as conn:
                conn.execute("SELECT 1")
            status["services"]["database"] = "healthy"
        except Exception as e:
            status["services"]["database"] = f"unhealthy: {e}"
        try:
            cache.set("health_check", "ok", ex=5)
            cache.get("health_check")
            status["services"]["cache"] = "healthy"
        except Exception as e:
            status["services"]["cache"] = f"unhealthy: {e}"
        total, _used, free = shutil.disk_usage("/")
        status["services"]["disk"] = {"free_percent": round(free / total * 100, 2)}
        status["services"]["memory"] = {"percent_used": psutil.virtual_memory().percent}
        return status

    async def tocsin() -> None:
        report = await health.check("ready")
        assert report.status == "healthy", report

    async def seed() -> None:
        seed_002()

    await tocsin()  # imports and first connections out of the way
    seed_002()
    ours = await _timed(tocsin)
    theirs = await _timed(seed)
    cache.close()
    return {
        "checks": "PostgreSQL SELECT 1 (new connection), Redis set/get/delete, disk, memory",
        "tocsin_concurrent_ms": _median_ms(ours),
        "serial_seed002_ms": _median_ms(theirs),
        "ratio_tocsin_over_seed002": round(statistics.median(ours) / statistics.median(theirs), 2),
    }


async def storm() -> dict[str, Any]:
    calls = 0

    async def dependency() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)

    health = Health([checks.custom("database", dependency)], cache_ttl=1.0)
    started = time.perf_counter()
    await asyncio.gather(*(health.check("ready") for _ in range(1000)))
    elapsed = time.perf_counter() - started
    return {
        "probes": 1000,
        "dependency_calls_tocsin": calls,
        "dependency_calls_seed002": 1000,
        "wall_ms": round(elapsed * 1000, 1),
    }


async def main() -> dict[str, Any]:
    with fresh_metrics():
        return {
            "five_checks_of_100ms": await five_slow_checks(),
            "seed002_dependencies": await real_dependencies(),
            "health_storm": await storm(),
        }


if __name__ == "__main__":
    results = asyncio.run(main())
    path = write_results("health", results)
    for name, figures in results.items():
        print(f"{name}: {figures}")
    print(f"wrote {path}")
