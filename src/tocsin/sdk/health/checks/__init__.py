"""Built-in health checks. Each is created by a function named after what it checks.

::

    from tocsin.sdk.health import checks

    checks.sql("database", "postgresql://app@127.0.0.1/app")     # SELECT 1 (psycopg/asyncpg/SQLAlchemy)
    checks.redis("cache", "redis://127.0.0.1:6379/0", critical=False)
    checks.mongo("archive", "mongodb://127.0.0.1:27017")          # ping
    checks.http("payments", "https://pay.internal/health", expect=[200])
    checks.tcp("smtp", "127.0.0.1", 25)
    checks.disk(path="/", min_free_percent=20)                   # non-critical by default
    checks.memory(max_used_percent=90)                           # non-critical by default
    checks.uptime()                                              # liveness
    checks.instrumentation()                                     # warns when the series cap drops data
    checks.custom("model", lambda: model.loaded)                 # sync (in a thread) or async

Drivers are imported when a check first runs, so importing this module needs
none of them. Every network check takes ``timeout`` (the whole check) and
``connect_timeout`` (connection set-up), both defaulting to the runner's 2 s.
"""

from __future__ import annotations

from ._custom import custom
from ._network import http, tcp
from ._process import disk, instrumentation, memory, uptime
from ._sql import sql
from ._stores import mongo, redis

__all__ = ["custom", "disk", "http", "instrumentation", "memory", "mongo", "redis", "sql", "tcp", "uptime"]
