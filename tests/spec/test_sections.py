"""The extension points new sections use: expansions (generated entries reported at their origin)
and the error/warning check lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.errors import SpecError
from tocsin.spec import Alert, Spec, _checks, load_spec, spec_warnings

SPEC = """\
version: tocsin/v1
app: shop
services:
  web: {targets: ["127.0.0.1:8000"]}
alerts:
  - {name: Own, expr: up, warning: "< 1", for: 1m}
"""


def _generate(spec: Spec) -> tuple[Spec, dict[tuple[str | int, ...], tuple[str | int, ...]]]:
    """Like a pack: one alert generated from the service ``web`` (line 4), for a service that is not there."""
    generated = {"name": "Generated", "expr": "up", "severity": "warning", "service": "nope"}
    alert = Alert.model_validate(generated)
    index = len(spec.alerts)
    return spec.model_copy(update={"alerts": [*spec.alerts, alert]}), {("alerts", index): ("services", "web")}


def test_generated_entries_are_checked_and_located_at_their_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_checks, "EXPANSIONS", (_generate,))
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    [problem] = caught.value.problems
    assert (problem.line, problem.column, problem.message) == (4, 8, "unknown service 'nope'")


def test_checks_registered_in_the_lists_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_web(spec: Spec) -> list[tuple[tuple[str | int, ...], str, str]]:
        return [(("services", "web"), "web is forbidden here", "rename it")] if "web" in spec.services else []

    monkeypatch.setattr(_checks, "WARNING_CHECKS", (*_checks.WARNING_CHECKS, no_web))
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path)
    assert [str(w) for w in spec_warnings(spec)] == [f"{path}:4:8: web is forbidden here (rename it)"]
    monkeypatch.setattr(_checks, "ERROR_CHECKS", (no_web,))
    with pytest.raises(SpecError, match="web is forbidden here"):
        load_spec(path)
