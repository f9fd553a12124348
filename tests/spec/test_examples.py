"""Every example spec (examples/seeds/*/tocsin.yaml, examples/demo) passes `tocsin check`,
promtool and amtool included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tocsin.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
SPECS = sorted(ROOT.glob("examples/seeds/*/tocsin.yaml"))


def test_every_seed_has_an_example() -> None:
    assert len(SPECS) == 5


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_example_passes_check(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(spec)]) == 0
    assert "amtool pass" in capsys.readouterr().out
