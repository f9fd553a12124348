"""The CLI's last line of defence: an OSError on the user's own files or a missing extra is one
``tocsin:`` line naming the path or the ``pip install`` to run, exit 2, never a traceback."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from tocsin.cli import EXTRA_OF_MODULE, main
from tocsin.spec import STARTER_SPEC

ROOT = Path(__file__).resolve().parents[1]


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(STARTER_SPEC, encoding="utf-8")
    return path


def test_compile_into_a_path_under_a_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path)
    blocker = tmp_path / "out"
    blocker.write_text("not a directory\n")  # root ignores permissions; a file in the way does not
    assert main(["compile", str(spec), "-o", str(blocker / "bundle")]) == 2
    err = capsys.readouterr().err
    assert f"tocsin: {blocker / 'bundle'}" in err, err
    assert "Not a directory (a file stands where a directory should be)" in err, err
    assert "Traceback" not in err


def test_init_over_a_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "specs"
    target.mkdir()
    assert main(["init", "--force", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"tocsin: {target}: Is a directory (a directory stands where a file should be)"


def test_a_command_without_its_extra_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path)
    monkeypatch.setitem(sys.modules, "textual", None)  # what `pip install tocsin` without [tui] looks like
    monkeypatch.delitem(sys.modules, "tocsin.views.top", raising=False)
    assert main(["top", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "tocsin: this command needs textual (pip install 'tocsin[tui]')"


def test_every_extra_named_exists() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRA_OF_MODULE.values()) <= set(extras)


def test_top_refuses_an_unknown_dashboard_and_a_pipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path)
    assert main(["top", str(spec), "--dashboard", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "tocsin: no dashboard 'nope' (dashboards: web-overview)"
    assert main(["top", str(spec)]) == 2  # pytest's stdout is no terminal: no escape codes into a pipe
    assert "tocsin top needs a terminal" in capsys.readouterr().err


def test_drill_refuses_a_restart_it_cannot_run_before_killing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--restart "cd /srv/app && ./start"` (shell syntax, no shell): said before the service is killed;
    it used to kill the service, then stop on "cd: No such file or directory" with no report."""
    spec = _spec(tmp_path)
    drill = ["drill", str(spec), "--service", "web", "--restart"]
    assert main([*drill, "cd /srv/app && ./start"]) == 2
    assert (
        "--restart: 'cd' is not a program on PATH (the command runs without a shell"
        in capsys.readouterr().err
    )
    assert main([*drill, "'unclosed"]) == 2
    assert '--restart "\'unclosed": No closing quotation' in capsys.readouterr().err
