"""``make demo`` must print its URLs and get the app target scraped (``up == 1``) by a real Prometheus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.integration
def test_demo_comes_up_and_stops(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.demo", "--once", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "http://127.0.0.1:" in result.stdout
    assert 'up{job="bookshop"} == 1' in result.stdout
    assert "demo stopped" in result.stdout
