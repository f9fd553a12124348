"""Fuzzing the spec loader (hypothesis, bounded): whatever the input, ``load_spec`` returns a Spec or raises
a SpecError whose every problem has a line, a message and a fix, and a loaded spec compiles.

Three generators: structural mutations of real specs (a value replaced by a hostile one, a key
dropped or added), character-level edits of their text (YAML's own syntax characters, tabs,
controls), and PromQL made of its tokens. ``TOCSIN_FUZZ_EXAMPLES`` raises the example count for a
longer run (``TOCSIN_FUZZ_EXAMPLES=5000 pytest tests/spec/test_fuzz.py``); CI runs the default.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests._fuzz import FUZZ as SHARED

from tocsin.compile import check_bundle, compile_spec
from tocsin.compile._yaml import dump_yaml
from tocsin.errors import SpecError
from tocsin.spec import STARTER_SPEC, clean_number, load_spec, parse_promql, read_yaml

ROOT = Path(__file__).resolve().parents[2]
#: The starter, the golden cases and the seed plans' specs (packs, logs, checklists, time intervals...).
SEEDS = [STARTER_SPEC] + [
    path.read_text(encoding="utf-8")
    for path in sorted(
        [*(ROOT / "tests" / "golden").glob("*/in.yaml"), *(ROOT / "examples").rglob("tocsin.yaml")]
    )
]
FUZZ = settings(
    SHARED,  # the servers' fuzz settings: no deadline (a shared machine), no example database on disk
    max_examples=int(os.environ.get("TOCSIN_FUZZ_EXAMPLES", "150")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize="TOCSIN_FUZZ_RANDOM" not in os.environ,  # reproducible in CI, fresh inputs on demand
)


def _seed_data(text: str) -> Any:
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / "seed.yaml"
        path.write_text(text, encoding="utf-8")
        return read_yaml(path, "seed.yaml")[0]


SEED_DATA = [_seed_data(text) for text in SEEDS]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "0s",
            "1.5h",
            "5 min",
            "99999999999999999999y",
            "-1m",
            "> 2",
            ">",
            "> 1e999",
            "{{ $value }}",
            "{{",
            "}}",
            "{{ .Foo }}",
            "up",
            "up ==",
            "rate(x[5m])",
            "(" * 40,
            "x" * 300,
            "\x00",
            "\t",
            "\u0085",
            "\u2028",
            "~",
            "null",
            "yes",
            "P1",
            "critical",
            "tocsin",
            "a:b",
            "127.0.0.1:99999",
            "http://",
            "/dev/zero",
            "../../etc/passwd",
            "$value",
            "\\",
        ]
    ),
)
hostile_scalar = st.one_of(
    hostile_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any, *, drop: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        copy = dict(node)
        if drop and not rest:
            copy.pop(head, None)
        else:
            copy[head] = _replace(node[head], rest, value, drop=drop)
        return copy
    copy_list = list(node)
    if drop and not rest:
        copy_list.pop(head)
    else:
        copy_list[head] = _replace(node[head], rest, value, drop=drop)
    return copy_list


def _check_contract(text: str | bytes) -> None:
    """The loader's promise for any file content."""
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / "tocsin.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        try:
            spec = load_spec(path)
        except SpecError as err:
            problems = list(err.problems)
        else:
            try:
                compile_spec(spec, env={})
            except SpecError as err:  # only a *_env secret without its variable may fail here
                problems = list(err.problems)
                assert all("is not set" in p.message for p in problems), problems
            else:
                return
    assert problems
    for problem in problems:
        assert problem.line >= 1 and problem.column >= 1, str(problem)
        assert problem.message.strip() and problem.hint.strip(), str(problem)


@FUZZ
@given(
    seed=st.sampled_from(range(len(SEED_DATA))),
    choice=st.integers(min_value=0),
    value=hostile_value,
    drop=st.booleans(),
)
def test_structural_mutations(seed: int, choice: int, value: Any, drop: bool) -> None:
    data = SEED_DATA[seed]
    paths = _paths(data)
    path = paths[choice % len(paths)]
    mutated = _replace(data, path, value, drop=drop and bool(path))
    try:
        text = dump_yaml(mutated)
    except TypeError:  # not representable as YAML (e.g. a float key): nothing to load
        return
    _check_contract(text)


ACTIONS = ["insert", "delete", "replace"]
SYNTAX = [*":{}[]-&*!|>'\"#%@,?\t\n ", "\x00", "\x07", "\u0085", "\ufeff", "<<: ", "---\n", "*a", "&a "]


@FUZZ
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["insert", "delete", "replace"]),
            st.sampled_from(SYNTAX),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_text_edits(seed: int, edits: list[tuple[int, str, str]]) -> None:
    text = SEEDS[seed]
    for position, action, chars in edits:
        at = position % (len(text) + 1)
        if action == "insert":
            text = text[:at] + chars + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + chars + text[at + 1 :]
    _check_contract(text)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _check_contract(data)


PROMQL_TOKENS = [
    "up", "x_total", "rate(", "sum(", "by (job)", "without (instance)", "histogram_quantile(0.9,", "(", ")",
    "[5m]", "[5m:1m]", "{", "}", 'job="a"', "=~", '"5.."', ",", " + ", " - ", " * ", " / ", " > ", " == ",
    " and ", " or ", " unless ", " bool ", " offset 5m", " @ 0", "0.5", "1e999", "NaN", "Inf", "-", "#",
    "vector(1)", "absent(", "label_replace(", "topk(3,", "on (job) group_left (team)", "'", "`", "\\",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(PROMQL_TOKENS), max_size=40))
def test_promql_tokens(tokens: list[str]) -> None:
    text = "".join(tokens)
    try:
        parse_promql(text)
    except ValueError as err:
        message = str(err)
    else:
        return
    assert message.startswith(("invalid PromQL", "the expression")), message


EXPRESSIONS = [
    "up", "vector(1)", 'absent(up{job="x"})', "sum(rate(x_total[5m]))", "sum by (job) (rate(x_total[5m]))",
    "max by (queue, le) (q)", "sum(x) or vector(0)", "time() - max(last_seen)", "count(up == 0)",
    'label_replace(up, "dst", "$1", "instance", "(.*)")',
    "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
]  # fmt: skip
OPERATORS = [">", ">=", "<", "<=", "==", "!="]
LABEL_TEMPLATES = ["{{ $value }}", "{{ $labels.job }}", "{{ $value | humanize }}", 'a "b" \\ c']
label_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)
alert_definition = st.fixed_dictionaries(
    {
        "expr": st.sampled_from(EXPRESSIONS),
        "level": st.one_of(
            st.tuples(
                st.sampled_from([">", ">=", "<", "<=", "==", "!="]), st.floats(-1e6, 1e6, allow_nan=False)
            ),
            st.sampled_from(["warning", "critical"]),
        ),
        "for": st.sampled_from([None, "0s", "30s", "5m", "2h", "3d"]),
        "labels": st.dictionaries(
            st.sampled_from(["team", "where", "how"]),
            st.one_of(
                label_text,
                st.sampled_from(
                    ["{{ $value }}", "{{ $labels.job }}", "{{ $value | humanize }}", 'a "b" \\ c']
                ),
            ),
            max_size=2,
        ),
    }
)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None or shutil.which("amtool") is None, reason="no promtool")
@settings(FUZZ, max_examples=int(os.environ.get("TOCSIN_FUZZ_PROMTOOL_EXAMPLES", "12")))
@given(st.lists(alert_definition, min_size=1, max_size=6))
def test_generated_alerts_pass_promtool(definitions: list[dict[str, Any]]) -> None:
    """Any valid spec's output passes promtool: rules, and the unit tests generated for them."""
    alerts = []
    for i, definition in enumerate(definitions):
        alert: dict[str, Any] = {"name": f"A{i}", "expr": definition["expr"], "labels": definition["labels"]}
        level = definition["level"]
        if isinstance(level, tuple):
            alert["warning"] = f"{level[0]} {clean_number(round(level[1], 3))}"
        else:
            alert["severity"] = level
        if definition["for"]:
            alert["for"] = definition["for"]
        alerts.append(alert)
    text = dump_yaml(
        {"version": "tocsin/v1", "app": "fuzz", "alerts": alerts, "routes": {"default": ["tocsin"]}}
    )
    with tempfile.TemporaryDirectory() as temp:
        path = Path(temp) / "tocsin.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            spec = load_spec(path)
        except SpecError:
            return  # an invalid combination: the contract test covers its messages
        compile_spec(spec).write(Path(temp) / "out")
        assert check_bundle(Path(temp) / "out", spec=spec) == [], text


def test_a_tab_anywhere(tmp_path: Path) -> None:
    """A tab (or space + tab) inserted into the starter spec, at every 7th character: tocsin before
    the loader was hardened raised a traceback for 930 of these (libyaml accepted what the
    round-trip parser behind the positions refused)."""
    path = tmp_path / "tocsin.yaml"
    problems = []
    for position in range(0, len(STARTER_SPEC), 7):
        for tab in ("\t", " \t"):
            path.write_text(STARTER_SPEC[:position] + tab + STARTER_SPEC[position:], encoding="utf-8")
            try:
                load_spec(path)
            except SpecError as err:
                problems += err.problems
    assert problems  # most insertions break the YAML: each is a problem at a line, with a fix
    assert all(p.line >= 1 and p.hint for p in problems), [
        str(p) for p in problems if not p.line or not p.hint
    ]
