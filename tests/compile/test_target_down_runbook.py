"""A service's TargetDown carries its runbook like any alert: checked at its line, linked from the rule
(to the console's page when the stack runs one), kept in the rule's promtool test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.compile import compile_spec
from tocsin.errors import SpecError
from tocsin.spec import load_spec

SPEC = """\
version: tocsin/v1
app: shop
services:
  web:
    targets: ["127.0.0.1:8000"]
    down: {for: 1m, priority: P1, runbook: runbooks/web-down.md}
routes: {default: [tocsin]}
"""


def test_the_rule_and_its_test_link_the_console_page(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "web-down.md").write_text("# Web down\n", encoding="utf-8")
    (tmp_path / "tocsin.yaml").write_text(SPEC, encoding="utf-8")
    bundle = compile_spec(load_spec(tmp_path / "tocsin.yaml"))
    rules = next(text for path, text in bundle.files.items() if path == "prometheus/rules/alerts.yml")
    assert "runbook_url: http://127.0.0.1:9096/runbooks/web-down" in rules
    tests = next(text for path, text in bundle.files.items() if path == "prometheus/tests/alerts_test.yml")
    assert "runbook_url: http://127.0.0.1:9096/runbooks/web-down" in tests


def test_a_missing_runbook_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "tocsin.yaml").write_text(SPEC, encoding="utf-8")
    with pytest.raises(SpecError, match=r"tocsin.yaml:6:\d+: runbook 'runbooks/web-down.md'"):
        load_spec(tmp_path / "tocsin.yaml")
