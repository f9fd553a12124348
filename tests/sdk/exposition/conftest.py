"""Fixtures for the exposition tests; the servers themselves are in exposition_servers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exposition_servers import TOKEN, Serve, start_servers


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "metrics-token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, token_file: Path) -> Iterator[Serve]:
    yield from start_servers(monkeypatch, token_file)
