"""Golden files: each tests/golden/<case>/in.yaml compiled through the real CLI equals <case>/out/
(everywhere), and that output passes promtool check config/rules, promtool test rules and amtool
check-config (where those tools are installed; only that part skips without them).

After an intended change of output: ``make golden`` and review ``git diff tests/golden``.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tocsin.compile import check_bundle
from tocsin.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent.parent


def _regen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regen_golden", ROOT / "scripts" / "regen_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REGEN = _regen()
CASES = REGEN.cases()


def test_there_are_golden_cases() -> None:
    assert {case.name for case in CASES} >= {"minimal", "ocr", "kpi", "ocr-fast-ha"}


def _args(case: Path) -> list[str]:
    return (case / "args").read_text(encoding="utf-8").split() if (case / "args").exists() else []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden(case: Path, tmp_path: Path) -> None:
    files = REGEN.compile_case(case, tmp_path)
    expected = {
        str(path.relative_to(case / "out")): path.read_text(encoding="utf-8")
        for path in sorted((case / "out").rglob("*"))
        if path.is_file()
    }
    assert sorted(files) == sorted(expected), "files differ: run `make golden` and review the diff"
    for name, content in files.items():
        assert content == expected[name], f"{case.name}/{name} differs: run `make golden` and review the diff"


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None or shutil.which("amtool") is None, reason="no promtool")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden_output_passes_promtool_and_amtool(case: Path, tmp_path: Path) -> None:
    REGEN.compile_case(case, tmp_path)
    args = _args(case)
    profile = args[args.index("--profile") + 1] if "--profile" in args else None
    assert check_bundle(tmp_path, spec=load_spec(case / "in.yaml", profile=profile)) == []
