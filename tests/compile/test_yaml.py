"""dump_yaml: what it writes loads back identically, and YAML 1.1 traps are quoted."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from tocsin.compile._yaml import dump_yaml

TRICKY = [
    "on", "off", "yes", "No", "y", "~", "null", "true", "12:30", "0x1f", "1e3", "0.5", "-1", ".5", "=", "<<",
    "", " lead", "trail ", "a: b", "x #y", "-", "- item", "? q", ": c", "end:", "{{ $value }}", "[x]", "*ref",
    "&anchor", "!tag", "|", ">", "'q'", '"d"', "%p", "@a", "`b", "multi\nline", "tab\there", "ünïcode",
    'sum(rate(x{a="b",c=~"5.."}[5m])) > 0.072', "--flag=value", "-config.file=/x", "http://h:1/p", "P1",
]  # fmt: skip


@pytest.mark.parametrize("text", TRICKY)
def test_strings_round_trip(text: str) -> None:
    document: Any = {"key": text, "list": [text], "nested": [{"k": text, "v": [text]}]}
    loaded = YAML(typ="safe").load(dump_yaml(document))
    assert loaded == document


@pytest.mark.parametrize("text", ["on", "off", "yes", "no", "y", "n", "12:30", "=", "<<", "0o17", "1_000"])
def test_yaml_1_1_words_are_quoted(text: str) -> None:
    assert dump_yaml({"k": text}) == f"k: '{text}'\n"


def test_shape_and_scalars() -> None:
    data = {"a": [], "b": {}, "c": None, "d": True, "e": 3, "f": 0.25, "g": [[1, 2], {"h": 1, "i": [3]}]}
    assert dump_yaml(data, header="made by a test") == (
        "# made by a test\na: []\nb: {}\nc: null\nd: true\ne: 3\nf: 0.25\ng:\n  -\n    - 1\n    - 2\n"
        "  - h: 1\n    i:\n      - 3\n"
    )
    assert YAML(typ="safe").load(dump_yaml(data)) == data


def test_shared_objects_are_written_out_not_aliased() -> None:
    shared = {"slo": "x"}
    assert "&" not in dump_yaml({"a": shared, "b": shared})
