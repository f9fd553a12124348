"""docs/packs/ is generated from the packs themselves and must be up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pack_pages_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_pack_docs", ROOT / "scripts" / "gen_pack_docs.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    for file, text in generator.pages().items():
        page = ROOT / "docs" / "packs" / file
        assert page.exists(), f"docs/packs/{file} is missing: run scripts/gen_pack_docs.py"
        assert page.read_text(encoding="utf-8") == text, (
            f"docs/packs/{file} is stale: run scripts/gen_pack_docs.py"
        )
