"""A profile's ``time_scale`` reaches what examples need beyond plain alerts: a ``for`` per level (each
scaled) and the packs' recording rules (their ranges scaled, their promtool test still passing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tocsin.compile import check_bundle, compile_spec
from tocsin.spec import load_spec

SPEC = """\
version: tocsin/v1
app: scaled
alerts:
  - {name: Slow, expr: x, warning: "> 1", critical: "> 2", for: {warning: 10m, critical: 5m}}
packs:
  - {use: cache, prefix: ocr, cache: ocr}
routes:
  default: [tocsin]
profiles:
  fast: {extends: fast, for: null, time_scale: 20}
"""


def _bundle(tmp_path: Path, profile: str | None):  # type: ignore[no-untyped-def]
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path, profile=profile)
    return spec, compile_spec(spec)


def _rules(bundle, path: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for g in YAML(typ="safe").load(bundle.files[path])["groups"] for r in g["rules"]]


def test_each_level_s_for_is_scaled(tmp_path: Path) -> None:
    _, bundle = _bundle(tmp_path, "fast")
    slow = {r["labels"]["severity"]: r["for"] for r in _rules(bundle, "prometheus/rules/alerts.yml")
            if r.get("alert") == "Slow"}  # fmt: skip
    assert slow == {"warning": "30s", "critical": "15s"}


def test_pack_recording_rules_are_scaled_with_the_alerts(tmp_path: Path) -> None:
    _, plain = _bundle(tmp_path, None)
    assert "[5m]" in _rules(plain, "prometheus/rules/packs.yml")[0]["expr"]
    _, fast = _bundle(tmp_path, "fast")
    record = _rules(fast, "prometheus/rules/packs.yml")[0]
    assert "[15s]" in record["expr"] and "[5m]" not in record["expr"]
    assert record["record"] == "ocr_cache:hit_ratio:rate5m"  # the alerts and panels still read it


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="no promtool")
@pytest.mark.parametrize("profile", [None, "fast"])
def test_promtool_passes_the_scaled_and_plain_tests(tmp_path: Path, profile: str | None) -> None:
    spec, bundle = _bundle(tmp_path, profile)
    bundle.write(tmp_path / "out")
    assert check_bundle(tmp_path / "out", spec=spec) == []
