from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.errors import SpecError
from tocsin.spec import load_spec

SPEC = """\
version: tocsin/v1
app: demo
scrape: {{interval: {interval}{timeout}}}
"""


def write(tmp_path: Path, interval: str, timeout: str = "") -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC.format(interval=interval, timeout=f", timeout: {timeout}" if timeout else ""))
    return path


def test_default_timeout_follows_a_short_interval(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, "5s")).scrape.timeout == "5s"
    assert load_spec(write(tmp_path, "30s")).scrape.timeout == "10s"


def test_explicit_timeout_longer_than_interval_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="timeout 10s is longer than interval 5s"):
        load_spec(write(tmp_path, "5s", "10s"))
