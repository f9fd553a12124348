"""Every seed plan has exactly one example spec — a running example (``examples/<name>/``, whose
``scenario.yaml`` names its seed) or, until it has one, ``examples/seeds/<seed>/`` — and every one of
them, examples/demo's too, passes `tocsin check` with promtool and amtool, in the plan's durations
and in the fast profile the demos and end-to-end tests run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.spec import load_document

ROOT = Path(__file__).resolve().parent.parent.parent
SEEDS = ("000-ocr-service", "001-kpi-system", "002-ebook-flask", "003-order-archiver", "004-coaching-ai")


def _example_seeds() -> dict[str, Path]:
    from examples._harness.scenario import Scenario

    found = {}
    for path in sorted(ROOT.glob("examples/*/scenario.yaml")):
        scenario = load_document(path, Scenario)
        found[scenario.seed] = path.parent / scenario.spec
    return found


def _specs() -> dict[str, Path]:
    specs = {p.parent.name: p for p in sorted(ROOT.glob("examples/seeds/*/tocsin.yaml"))}
    return {**specs, **_example_seeds(), "demo": ROOT / "examples" / "demo" / "tocsin.yaml"}


def test_every_seed_has_exactly_one_example() -> None:
    legacy = {p.parent.name for p in ROOT.glob("examples/seeds/*/tocsin.yaml")}
    running = set(_example_seeds())
    assert legacy | running == set(SEEDS)
    assert not legacy & running, f"two places for {legacy & running}: delete examples/seeds/<seed>"


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
@pytest.mark.parametrize("profile", [None, "fast"])
@pytest.mark.parametrize("name", sorted(_specs()))
def test_example_passes_check(name: str, profile: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _specs()[name]
    assert main(["check", str(spec), *(["--profile", profile] if profile else [])]) == 0
    assert "amtool pass" in capsys.readouterr().out
