"""What a monitored service imports stays light: no web framework, driver, compiler or CLI stack.

One fresh interpreter per SDK package (``sys.modules`` of the test process is
already full of everything).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Never imported by importing an SDK package: frameworks and drivers are the user's
#: (imported lazily by the adapter or check that needs them), the rest is tocsin's CLI side.
HEAVY = (
    "asyncpg",
    "django",
    "fastapi",
    "flask",
    "httpx",
    "jwt",
    "nats",
    "openai",
    "opentelemetry",
    "psycopg",
    "pydantic",
    "pymongo",
    "redis",
    "requests",
    "rich",
    "ruamel",
    "sqlalchemy",
    "starlette",
    "streamlit",
    "tocsin.compile",
    "tocsin.spec",
    "tocsin.stack",
    "uvicorn",
    "websockets",
    "werkzeug",
)

#: structlog's console renderer imports rich when it is installed (it is, for tocsin's CLI).
ALLOWED = {"tocsin.sdk.logging": {"rich"}, "tocsin.testing": {"rich"}}

SDK_PACKAGES = (
    "tocsin.sdk",
    "tocsin.sdk.metrics",
    "tocsin.sdk.http",
    "tocsin.sdk.exposition",
    "tocsin.sdk.multiprocess",
    "tocsin.sdk.health",
    "tocsin.sdk.health.checks",
    "tocsin.sdk.logging",
    "tocsin.sdk.packs",
    "tocsin.testing",
)


@pytest.mark.parametrize("package", SDK_PACKAGES)
def test_sdk_package_import_is_light(package: str) -> None:
    heavy = tuple(m for m in HEAVY if m not in ALLOWED.get(package, set()))
    code = f"import sys, {package}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"importing {package} imports {out.stdout.strip()}"


def test_a_scrape_with_no_health_imports_no_health_package() -> None:
    """Scrapes refresh the health gauges first; with no Health made, that must not import the health code."""
    code = (
        "import sys; from tocsin.sdk.exposition import Exposition; Exposition().respond(); "
        "print(sorted(m for m in sys.modules if m.startswith('tocsin.sdk.health')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
