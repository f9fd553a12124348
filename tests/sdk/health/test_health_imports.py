"""Importing the health and logging SDKs pulls in no framework and no driver."""

from __future__ import annotations

import subprocess
import sys


def test_health_and_logging_imports_are_light() -> None:
    code = (
        "import sys, tocsin.sdk.health, tocsin.sdk.health.checks, tocsin.sdk.logging, tocsin.testing;"
        "heavy = ('starlette', 'fastapi', 'flask', 'django', 'sqlalchemy', 'redis', 'pymongo', 'psycopg',"
        " 'asyncpg', 'httpx', 'opentelemetry', 'uvicorn', 'werkzeug');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
