"""Compiled output judged by the real promtool and amtool (Debian binaries)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.compile import check_bundle, compile_spec
from tocsin.spec import STARTER_SPEC, load_spec

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("promtool") is None or shutil.which("amtool") is None, reason="no promtool"
    ),
]


@pytest.mark.parametrize(("profile", "ha"), [(None, False), ("fast", True)])
def test_shop_passes_every_tool(
    write_spec: Callable[[str], Path],
    shop_text: str,
    env: dict[str, str],
    tmp_path: Path,
    profile: str | None,
    ha: bool,
) -> None:
    spec = load_spec(write_spec(shop_text), profile=profile)
    compile_spec(spec, ha=ha, env=env).write(tmp_path / "out")
    assert check_bundle(tmp_path / "out", spec=spec) == []


def test_a_wrong_expectation_fails_promtool(
    write_spec: Callable[[str], Path], shop_text: str, env: dict[str, str], tmp_path: Path
) -> None:
    spec = load_spec(write_spec(shop_text))
    compile_spec(spec, env=env).write(tmp_path / "out")
    tests = tmp_path / "out" / "prometheus" / "tests" / "alerts-worker_test.yml"
    tests.write_text(tests.read_text(encoding="utf-8").replace("values: 15x", "values: 9x"), encoding="utf-8")
    problems = check_bundle(tmp_path / "out", spec=spec)
    assert [p.file for p in problems] == ["prometheus/tests/alerts-worker_test.yml"]
    assert "unit tests failed" in problems[0].message and "QueueFull" in problems[0].message


def test_route_expectations_are_checked_with_amtool(
    write_spec: Callable[[str], Path], shop_text: str, env: dict[str, str], tmp_path: Path
) -> None:
    spec = load_spec(write_spec(shop_text))
    compile_spec(spec, env=env).write(tmp_path / "out")
    other = load_spec(write_spec(shop_text.replace("P2: [chat]", "P2: [hook]")))
    problems = check_bundle(tmp_path / "out", spec=other)
    assert {p.message.split(" failed")[0] for p in problems} == {
        "route for P2/critical",
        "route for P2/warning",
    }


def test_cli_check_and_compile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "tocsin.yaml"
    spec.write_text(STARTER_SPEC, encoding="utf-8")
    assert main(["check", str(spec)]) == 0
    assert "amtool pass" in capsys.readouterr().out
    assert main(["compile", str(spec), "-o", str(tmp_path / "out"), "--ha"]) == 0
    assert (tmp_path / "out" / "prometheus" / "prometheus-1.yml").is_file()


def test_cli_check_reports_what_promtool_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "raw.yml").write_text(
        "groups:\n  - name: raw\n    rules:\n      - alert: Broken\n        expr: up == 0\n"
        "        for: 5 minutes\n",
        encoding="utf-8",
    )
    spec = tmp_path / "tocsin.yaml"
    spec.write_text("version: tocsin/v1\napp: raw\nincludes: [raw.yml]\n", encoding="utf-8")
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    expected = (
        "tocsin: compiled prometheus/rules/include-01-raw.yml: check rules failed: prometheus/rules/"
        "include-01-raw.yml: "
    )
    assert expected in err.splitlines()[1], err
    assert "Traceback" not in err
