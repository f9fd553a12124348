"""The first probe of a process pays for nothing of tocsin's own start-up (issue 10, item 6).

Importing a driver takes 0.1–1 s on a cold start; done inside the first probe it ate the probe's
timeout (one boot in five answered a false 503). Every built-in check imports at construction:
each kind is built and probed once in a fresh interpreter, and the first probe must import no
driver module at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("first_probe.py")


def first_probe(*args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return answer


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("sqlite-dsn", "up"),
        ("sqlite-engine", "up"),
        ("postgres-engine", "up"),
        ("psycopg", "up"),
        ("asyncpg", "up"),
        ("redis", "up"),
        ("memory", "up"),
        ("mongo", "down"),  # no MongoDB here: the probe fails, but imports nothing either
    ],
)
def test_the_first_probe_imports_no_driver(kind: str, status: str) -> None:
    answer = first_probe(kind)
    assert answer["status"] == status, answer
    assert answer["imported"] == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_first_http_probe_imports_no_transport(scheme: str, closed_port: int) -> None:
    answer = first_probe("http", f"{scheme}://127.0.0.1:{closed_port}/health")
    assert answer["status"] == "down"  # refused: the point is what it imported on the way
    assert answer["imported"] == []


@pytest.mark.parametrize("kind", ["sqlite-engine", "sqlite-dsn"])
def test_a_sync_engine_needs_no_greenlet(kind: str) -> None:
    """SQLAlchemy 2.1 installs no greenlet; only ``sqlalchemy.ext.asyncio`` needs it."""
    answer = first_probe(kind, "no-greenlet")
    assert answer["status"] == "up", answer["output"]
