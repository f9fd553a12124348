"""One check, built then probed once in a fresh interpreter: prints what the first probe imported.

``python first_probe.py KIND [no-greenlet]`` prints one JSON line: the check's status and
output, and the modules of drivers (and of what they import lazily) that appeared during
the first probe. Run by ``test_health_first_probe.py``: a fresh process is the only way
to see a cold start.
"""

from __future__ import annotations

import asyncio
import json
import sys

if "no-greenlet" in sys.argv:
    sys.modules["greenlet"] = None  # type: ignore[assignment]  # as if not installed (SQLAlchemy 2.1)

from tests.sdk.health.health_sites import PG_DSN, REDIS_URL

from tocsin.sdk.health import Health, checks

DRIVERS = {"sqlalchemy", "psycopg", "psycopg_binary", "asyncpg", "redis", "pymongo", "bson", "httpx",
           "httpcore", "anyio", "h11", "sniffio", "certifi", "psutil", "greenlet"}  # fmt: skip


def build(kind: str) -> object:
    if kind == "sqlite-dsn":
        return checks.sql("db", "sqlite:///:memory:")
    if kind == "sqlite-engine":
        import sqlalchemy

        return checks.sql("db", sqlalchemy.create_engine("sqlite:///:memory:"))
    if kind == "postgres-engine":
        import sqlalchemy

        return checks.sql(
            "db", sqlalchemy.create_engine(PG_DSN.replace("postgresql:", "postgresql+psycopg:"))
        )
    if kind == "psycopg":
        return checks.sql("db", PG_DSN)
    if kind == "asyncpg":
        return checks.sql("db", PG_DSN.replace("postgresql:", "postgresql+asyncpg:"))
    if kind == "redis":
        return checks.redis("cache", REDIS_URL, namespace="tocsin:first-probe")
    if kind == "http":
        return checks.http("api", sys.argv[2])
    if kind == "memory":
        return checks.memory(max_used_percent=100)
    if kind == "mongo":
        return checks.mongo("docs", "mongodb://127.0.0.1:1/?directConnection=true", timeout=0.5)
    raise SystemExit(f"unknown kind {kind}")


def main() -> None:
    health = Health([build(sys.argv[1])], cache_ttl=0)  # type: ignore[list-item]
    before = set(sys.modules)
    result = asyncio.run(health.check("ready")).results[0]
    imported = sorted(m for m in set(sys.modules) - before if m.partition(".")[0] in DRIVERS)
    print(json.dumps({"status": result.status, "output": result.output, "imported": imported}))


main()
