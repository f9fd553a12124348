"""The malformed-spec corpus: each ``tests/specs/bad/*.yaml`` gives exactly the lines in its ``.expected``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tocsin.cli import main

BAD = Path(__file__).parent.parent / "specs" / "bad"
CASES = sorted(BAD.glob("*.yaml"))


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("spec", CASES, ids=lambda p: p.stem)
def test_bad_spec_message(
    spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(BAD)
    assert main(["check", spec.name]) == 2
    err = capsys.readouterr().err
    expected = spec.with_suffix(".expected").read_text(encoding="utf-8")
    assert err == expected
    for line in err.splitlines():
        assert line.startswith(f"tocsin: {spec.name}:"), line


def test_real_cli_exits_2_without_traceback() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tocsin", "check", "30-multiple-problems.yaml"],
        cwd=BAD,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr == (BAD / "30-multiple-problems.expected").read_text(encoding="utf-8")
