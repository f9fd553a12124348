"""Regenerate tests/golden/<case>/out/ from tests/golden/<case>/in.yaml through the real CLI.

Run ``make golden`` (or ``python scripts/regen_golden.py [CASE ...]``), then review
``git diff tests/golden``: a change in compiled output is a reviewed diff (Sloth's habit).
An optional ``args`` file in a case holds extra CLI arguments (``--profile fast --ha``).
Absolute paths of the case directory are written as ``<case>`` so the files are
the same on every machine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
PLACEHOLDER = "<case>"


def cases() -> list[Path]:
    """Every golden case directory (one with an in.yaml)."""
    return sorted(p.parent for p in GOLDEN.glob("*/in.yaml"))


def compile_case(case: Path, output: Path) -> dict[str, str]:
    """Run ``tocsin compile`` on a case into ``output``; return its files, paths normalised."""
    extra = (case / "args").read_text(encoding="utf-8").split() if (case / "args").exists() else []
    command = [sys.executable, "-m", "tocsin", "compile", "in.yaml", "-o", str(output), *extra]
    done = subprocess.run(command, cwd=case, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{case.name}: tocsin compile failed:\n{done.stderr}")
    return {
        str(path.relative_to(output)): path.read_text(encoding="utf-8").replace(
            str(case.resolve()), PLACEHOLDER
        )
        for path in sorted(output.rglob("*"))
        if path.is_file() and path.name != ".tocsin-bundle"  # the write manifest, not compiler output
    }


def regenerate(case: Path) -> int:
    """Rewrite ``case/out``; returns how many files it holds."""
    with tempfile.TemporaryDirectory() as temp:
        files = compile_case(case, Path(temp))
    out = case / "out"
    shutil.rmtree(out, ignore_errors=True)
    for relative, content in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return len(files)


def main(argv: list[str]) -> int:
    selected = [GOLDEN / name for name in argv] if argv else cases()
    for case in selected:
        print(f"{case.name}: {regenerate(case)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
