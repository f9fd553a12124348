"""Every logging test starts and ends with logging unconfigured (the reset helper under test)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from tocsin.sdk import logging as tlog


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    tlog.reset()
    yield
    tlog.reset()


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()
