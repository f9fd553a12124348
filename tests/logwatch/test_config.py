"""Config mistakes are reported as ``tocsin: file:line:col: what (fix)``, all of them, exit 2; the watcher
itself runs on the compiled JSON config, whose every wrong shape is refused by name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.logwatch._helpers import load_yaml, seed_config

from tocsin.cli import main
from tocsin.compile.logwatch import watch_config
from tocsin.errors import SpecError, UsageError
from tocsin.logwatch import LogsConfig, config_from_dict, load_config
from tocsin.logwatch.config import config_to_dict
from tocsin.spec import LogsSection


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
    config = load_yaml(path)
    assert isinstance(config, LogsConfig)
    assert len(config.patterns) == 9
    assert config.patterns[0].value == "count"
    assert config.patterns[7].label_names == ("kind",)
    assert config.store.retention == 7 * 86400.0
    assert config.poll_interval == 0.05
    # embedded in a bigger file (the spec) under `logs:`, positions still point into that file
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        "version: tocsin/v1\napp: archiver\nlogs:\n"
        + "".join(f"  {ln}\n" for ln in path.read_text().splitlines())
    )
    assert load_yaml(spec, section="logs") == config
    assert config_from_dict(config_to_dict(config)) == config  # the JSON form round-trips


def test_bad_regex_points_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = seed_config("logs/*.log").replace("'❌ Change Stream error'", "'❌ Change Stream (error'")
    errors = _errors(tmp_path, monkeypatch, capsys, text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "Stream (error" in ln)
    assert len(errors) == 1
    assert errors[0].startswith(f"tocsin: logwatch.yaml:{line}:")
    assert "invalid regular expression (missing ), unterminated subpattern" in errors[0]
    assert errors[0].endswith("(in YAML, write regexes in single quotes so backslashes stay as they are)")


def test_unknown_keys_all_reported_with_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "files:\n  - path: a.log\n    formta: json\npatterns:\n  - name: x\n    regex: 'x'\nstroe: {}\n"
    errors = _errors(tmp_path, monkeypatch, capsys, text)
    assert errors == [
        "tocsin: logwatch.yaml:3:5: unknown key 'formta' (did you mean 'format'?)",
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
        "tocsin: logwatch.yaml:3:5: the regex has no named group 'count' (add (?P<count>\\d+) to it)"
    )
    assert errors[1].startswith(
        "tocsin: logwatch.yaml:7:14: '7 days' is not a duration (use e.g. 250ms, 30s, 5m, 1h30m, 7d)"
    )


def test_missing_files_and_yaml_syntax(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _errors(tmp_path, monkeypatch, capsys, "patterns: []\n") == [
        "tocsin: logwatch.yaml:1:1: missing key 'files' (add it)"
    ]
    errors = _errors(tmp_path, monkeypatch, capsys, "files: [{path: a.log}\n")
    assert errors[0].startswith("tocsin: logwatch.yaml:2:1: YAML syntax error")


def test_python_m_entry_point_reads_json_and_exits_2_without_traceback(tmp_path: Path) -> None:
    def run(config: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tocsin.logwatch", "--config", config, "--state-dir", "st"]
        return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    (tmp_path / "logwatch.yaml").write_text("files: [{path: a.log}]\n")
    out = run("logwatch.yaml")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("tocsin: logwatch.yaml: not a compiled logwatch config (JSON)")
    (tmp_path / "logwatch.json").write_text('{"version": 1, "files": [{"path": 3}]}')
    out = run("logwatch.json")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("tocsin: logwatch.json: files[0].path: expected str, not int")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "the config: expected an object, not list"),
        ({}, "the config: "),
        ({"files": []}, "files: no files to follow"),
        ({"files": [{"path": "a"}], "poll_interval": -1}, "poll_interval: expected a number of seconds"),
        ({"files": [{"path": "a"}], "poll_interval": "1s"}, "poll_interval: expected a number"),
        ({"files": [{"path": "a", "format": "xml"}]}, "files[0].format: 'xml' is not one of"),
        ({"files": [{"path": "a", "level": "("}]}, "files[0].level: invalid regular expression"),
        ({"files": [{"path": "a"}], "patterns": [{"name": "x", "regex": "a", "value": "n"}]}, "group"),
        ({"files": [{"path": "a"}], "store": {"min_level": "LOUD"}}, "store.min_level: unknown level"),
        ({"files": [{"path": "a"}], "stroe": {}}, "unknown key 'stroe'"),
        ({"files": [{"path": "a"}], "loki": {"url": "x", "labels": {"a": 1}}}, "loki.labels: expected"),
        ({"version": 7, "files": [{"path": "a"}]}, "version: 7"),
    ],
)
def test_every_wrong_shape_of_the_json_config_is_named(tmp_path: Path, data: object, message: str) -> None:
    path = tmp_path / "logwatch.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError) as info:
        load_config(path)
    assert message in str(info.value)


def test_one_duration_grammar_with_the_rest_of_the_spec() -> None:
    ok = LogsSection.model_validate(
        {"files": [{"path": "a"}], "poll_interval": "1m30s", "store": {"retention": "1h30m"}}
    )
    config = watch_config(ok, base_dir="/")
    assert (config["poll_interval"], config["store"]["retention"]) == (90.0, 5400.0)
    for wrong in ("1.5h", "7 days", "90", "soon"):
        with pytest.raises(ValueError):
            LogsSection.model_validate({"files": [{"path": "a"}], "poll_interval": wrong})
    with pytest.raises(SpecError):
        load_yaml(Path("/nonexistent/logwatch.yaml"))


def test_directory_size_interval_follows_the_scrape_interval_unless_set() -> None:
    section = LogsSection.model_validate({"files": [{"path": "a"}]})
    assert watch_config(section, base_dir="/", scrape_interval="1s")["directory_size_interval"] == 1.0
    section = LogsSection.model_validate({"files": [{"path": "a"}], "directory_size_interval": "5m"})
    assert watch_config(section, base_dir="/", scrape_interval="1s")["directory_size_interval"] == 300.0


def test_embedded_section_errors_point_into_the_spec_file(tmp_path: Path) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(
        "version: tocsin/v1\napp: x\nlogs:\n  files: [{path: a.log}]\n"
        "  patterns:\n    - {name: x, regex: 'a(', sources: []}\n"
    )
    with pytest.raises(SpecError) as info:
        load_yaml(spec, section="logs")
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.column) == (str(spec), 6, 24)
    assert problem.message.startswith("invalid regular expression")


def test_watcher_reads_the_spec_logs_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("logs").mkdir()
    Path("logs/a.log").write_text("✅ Archived 4 orders\n")
    body = seed_config("logs/*.log", store=False)
    Path("tocsin.yaml").write_text(
        "version: tocsin/v1\napp: archiver\nlogs:\n" + "".join(f"  {ln}\n" for ln in body.splitlines())
    )
    args = ["--config", "tocsin.yaml", "--section", "logs", "--state-dir", "st", "--once", "--no-http"]
    assert main(["logwatch", *args]) == 0
    data = json.loads(Path("st/logwatch-checkpoint.json").read_text())
    assert data["counts"]["patterns"]["orders_archived_total"] == [[[], 4.0]]
