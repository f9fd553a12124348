"""The malformed-spec corpus: each ``tests/specs/bad/*.yaml`` gives exactly the lines in its ``.expected``,
and no input — in the corpus or made here (FIFOs, devices, huge files) — hangs, crashes or tracebacks:
each is checked in a child process under a hard time and memory limit (tests/spec/isolated.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.spec.isolated import check_isolated

from tocsin.cli import main
from tocsin.spec import MAX_BYTES

BAD = Path(__file__).parent.parent / "specs" / "bad"
CASES = sorted(BAD.glob("*.yaml"))
#: ``tocsin: <file>:<line>[:<col>]: <what> (<fix>)``: the file is the spec or a rule file it includes.
LINE = re.compile(r"^tocsin: [^:\s]+\.ya?ml:\d+(:\d+)?: \S.* \(.+\)$")
#: A spec that cannot be read at all has no line to point at: ``tocsin: <file>: cannot read ... (<fix>)``.
UNREADABLE = re.compile(r"^tocsin: \S+: cannot read the spec: .+ \(.+\)$")
HEAD = 'version: tocsin/v1\napp: shop\nservices:\n  web: {targets: ["127.0.0.1:8000"]}\n'


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 70


def test_expected_output_is_the_same_in_every_checkout() -> None:
    """Messages name files as the user wrote them: no absolute path of this checkout in any .expected."""
    root = str(Path(__file__).resolve().parents[2])
    assert [p.name for p in BAD.glob("*.expected") if root in p.read_text(encoding="utf-8")] == []


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
        assert LINE.match(line), line


def test_corpus_under_hard_limits() -> None:
    """The whole corpus again, each file under RLIMIT_AS and SIGALRM: nothing hangs, crashes or tracebacks."""
    outcomes = check_isolated([Path(p.name) for p in CASES], cwd=BAD)
    assert [o.path for o in outcomes] == [p.name for p in CASES]
    for outcome in outcomes:
        assert outcome.code == 2, f"{outcome.path}: {outcome.death or outcome.stderr}"
        assert "Traceback" not in outcome.stderr
        assert outcome.stderr == (BAD / outcome.path).with_suffix(".expected").read_text(encoding="utf-8")


def _hostile_files(root: Path) -> dict[str, Path]:
    """Inputs that are not YAML text at all, as the spec itself and as an included rule file."""
    fifo = root / "fifo.yml"
    os.mkfifo(fifo)
    huge = root / "huge.yml"
    with huge.open("wb") as out:  # a 60 MB file: refused by its size, never read whole
        out.truncate(60 * 1024 * 1024)
    big = root / "big.yml"  # valid YAML text, just past the limit
    big.write_text("groups: []\n" + "#" * MAX_BYTES, encoding="utf-8")
    targets = {"fifo": fifo, "dev-zero": Path("/dev/zero"), "directory": root, "huge": huge, "big": big}
    specs: dict[str, Path] = {}
    for name, target in targets.items():
        specs[f"spec-is-{name}"] = target
        include = root / f"includes-{name}.yaml"
        include.write_text(f"{HEAD}includes: [{target}]\n", encoding="utf-8")
        specs[f"includes-{name}"] = include
    missing = root / "includes-missing.yaml"
    missing.write_text(f"{HEAD}includes: [nowhere.yml]\n", encoding="utf-8")
    specs["includes-missing"] = missing
    specs["spec-is-missing"] = root / "nowhere.yaml"
    return specs


def test_files_that_are_not_yaml_text(tmp_path: Path) -> None:
    files = _hostile_files(tmp_path)
    outcomes = {o.path: o for o in check_isolated(list(files.values()), cwd=tmp_path)}
    for name, path in files.items():
        outcome = outcomes[str(path)]
        assert outcome.code == 2, f"{name}: {outcome.death or outcome.stderr}"
        [line] = outcome.stderr.splitlines()
        pattern = UNREADABLE if name.startswith("spec-is-") else LINE
        assert pattern.match(line), f"{name}: {line}"
        if name.startswith("includes-"):
            assert line.startswith(f"tocsin: {path}:5:"), line  # at the includes: entry
    assert "is a FIFO" in outcomes[str(files["spec-is-fifo"])].stderr
    assert "character device" in outcomes[str(files["includes-dev-zero"])].stderr
    assert "62,914,560 bytes" in outcomes[str(files["includes-huge"])].stderr


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


def test_secret_files_that_are_not_files(tmp_path: Path) -> None:
    """The secret pre-flight stats a secret and reads its last byte only: a FIFO or /dev/zero is named."""
    fifo = tmp_path / "smtp-password"
    os.mkfifo(fifo)
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        f"{HEAD}receivers:\n"
        f"  mail: {{email: {{to: a@b.c, from: d@e.f, smarthost: 'h:25', auth_password_file: {fifo}}}}}\n"
        "  chat: {slack: {api_url_file: /dev/zero}}\n"
        "routes: {P1: [mail], default: [chat]}\n",
        encoding="utf-8",
    )
    [outcome] = check_isolated([spec], cwd=tmp_path)
    assert outcome.code == 0, outcome.death or outcome.stderr
    assert f"secret file {fifo} is not a regular file" in outcome.stderr
    assert "secret file /dev/zero is not a regular file" in outcome.stderr
