"""Config mistakes are reported as ``tocsin: file:line:col: what (fix)``, all of them, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.logwatch._helpers import seed_config

from tocsin.cli import main
from tocsin.errors import SpecError
from tocsin.logwatch import LogsConfig, load_config
from tocsin.logwatch.config import parse_duration


def _errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str
) -> list[str]:
    monkeypatch.chdir(tmp_path)
    Path("logwatch.yaml").write_text(text)
    code = main(["logwatch", "--config", "logwatch.yaml", "--state-dir", "st", "--once", "--no-http"])
    assert code == 2
    return capsys.readouterr().err.splitlines()


def test_seed_config_loads_and_is_the_spec_section_model(tmp_path: Path) -> None:
    path = tmp_path / "logwatch.yaml"
    path.write_text(seed_config("logs/*.log"))
    config = load_config(path)
    assert isinstance(config, LogsConfig)
    assert len(config.patterns) == 9
    assert config.patterns[0].value == "count"
    assert config.patterns[7].label_names == ("kind",)
    assert config.store.retention == "7d"
    # embedded in a bigger file (the spec) under `logs:`, positions still point into that file
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        "version: 1\napp: archiver\nlogs:\n" + "".join(f"  {ln}\n" for ln in path.read_text().splitlines())
    )
    assert load_config(spec, section="logs") == config


def test_bad_regex_points_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = seed_config("logs/*.log").replace("'❌ Change Stream error'", "'❌ Change Stream (error'")
    errors = _errors(tmp_path, monkeypatch, capsys, text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "Stream (error" in ln)
    assert len(errors) == 1
    assert errors[0].startswith(f"tocsin: logwatch.yaml:{line}:")
    assert "patterns.8.regex: invalid regular expression: missing ), unterminated subpattern" in errors[0]
    assert errors[0].endswith("(in YAML, write regexes in single quotes so backslashes stay as they are)")


def test_unknown_keys_all_reported_with_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "files:\n  - path: a.log\n    formta: json\npatterns:\n  - name: x\n    regex: 'x'\nstroe: {}\n"
    errors = _errors(tmp_path, monkeypatch, capsys, text)
    assert errors == [
        "tocsin: logwatch.yaml:3:5: unknown key 'files.0.formta' (did you mean 'format'?)",
        "tocsin: logwatch.yaml:7:1: unknown key 'stroe' (did you mean 'store'?)",
    ]


def test_value_group_missing_and_bad_duration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "files: [{path: a.log}]\n"
        "patterns:\n"
        "  - name: archived\n"
        "    regex: 'Archived (\\d+) orders'\n"
        "    value: count\n"
        "store:\n"
        "  retention: 7 days\n"
    )
    errors = _errors(tmp_path, monkeypatch, capsys, text)
    assert errors[0].startswith(
        "tocsin: logwatch.yaml:3:5: patterns.0: value: the regex has no named group 'count'"
    )
    assert errors[1].startswith("tocsin: logwatch.yaml:7:14: store.retention: '7 days' is not a duration")


def test_missing_files_and_yaml_syntax(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _errors(tmp_path, monkeypatch, capsys, "patterns: []\n") == [
        "tocsin: logwatch.yaml:1:1: files: Field required (add files:)"
    ]
    errors = _errors(tmp_path, monkeypatch, capsys, "files: [{path: a.log}\n")
    assert errors[0].startswith("tocsin: logwatch.yaml:2:1: not valid YAML")


def test_python_m_entry_point_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "logwatch.yaml").write_text("files: [{path: a.log}]\npatterns: [{name: x, regex: '('}]\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tocsin.logwatch",
            "--config",
            "logwatch.yaml",
            "--state-dir",
            "st",
            "--port",
            "0",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("tocsin: logwatch.yaml:2:")
    assert "Traceback" not in out.stderr


def test_durations() -> None:
    assert parse_duration("250ms") == 0.25
    assert parse_duration("7d") == 604800
    with pytest.raises(ValueError):
        parse_duration("soon")
    with pytest.raises(SpecError):
        load_config("/nonexistent/logwatch.yaml")


def test_cli_constants_match_the_package() -> None:
    from tocsin.cli import _logwatch
    from tocsin.logwatch import DEFAULT_PORT, ENGINES

    assert (_logwatch.DEFAULT_PORT, _logwatch.ENGINES) == (DEFAULT_PORT, ENGINES)


def test_embedded_section_errors_point_into_the_spec_file(tmp_path: Path) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        "version: 1\nlogs:\n  files: [{path: a.log}]\n"
        "  patterns:\n    - {name: x, regex: 'a(', sources: []}\n"
    )
    with pytest.raises(SpecError) as info:
        load_config(spec, section="logs")
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.column) == (str(spec), 5, 24)
    assert problem.message.startswith("patterns.0.regex: invalid regular expression")


def test_watcher_reads_the_spec_logs_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("logs").mkdir()
    Path("logs/a.log").write_text("✅ Archived 4 orders\n")
    body = seed_config("logs/*.log", store=False)
    Path("tocsin.yaml").write_text(
        "version: 1\napp: archiver\nlogs:\n" + "".join(f"  {ln}\n" for ln in body.splitlines())
    )
    args = ["--config", "tocsin.yaml", "--section", "logs", "--state-dir", "st", "--once", "--no-http"]
    assert main(["logwatch", *args]) == 0
    data = json.loads(Path("st/logwatch-checkpoint.json").read_text())
    assert data["counts"]["patterns"]["orders_archived_total"] == [[[], 4.0]]
