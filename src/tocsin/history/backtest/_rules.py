"""The alerting rules a spec compiles to, ready to replay: recording rules inlined, thresholds split off.

Generated alerts read a recording rule (``alert:OcrTooSlow:value > 3``, ``slo:sli_error:ratio_rate1h
{slo="x"} > 0.072 and ...``). A new version of the spec has no stored series for its new recording
rules, so each reference is replaced by the recording rule's own expression, with the labels the rule
sets added by ``label_replace`` (what Prometheus' later rules in a group see is exactly what the earlier
rule computed at the same timestamp). A reference that cannot be inlined exactly (a range over it,
matchers on labels the expression makes) is left to read the stored series.

Rules of raw rule files (``includes:``) are replayed as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tocsin.history.backtest._engine import AlertRule
from tocsin.spec import Spec, duration_seconds

__all__ = ["inline_records", "rules_from_groups", "spec_rules"]

_MATCHER_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')

Record = tuple[str, Mapping[str, str]]


def _matchers(text: str) -> list[tuple[str, str, str]] | None:
    out, pos = [], 0
    while pos < len(text):
        match = _MATCHER_RE.match(text, pos)
        if match is None:
            return None
        out.append((match.group(1), match.group(2), match.group(3)))
        pos = match.end()
    return out


def _label_wrap(expr: str, labels: Mapping[str, str]) -> str:
    wrapped = f"({expr})"
    for name, value in sorted(labels.items()):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        wrapped = f'label_replace({wrapped}, "{name}", "{escaped}", "__name__", ".*")'
    return wrapped


def inline_records(expr: str, records: Mapping[str, Sequence[Record]]) -> str:
    """``expr`` with every instant reference to one of ``records`` replaced by its expression."""
    for name, candidates in records.items():
        pattern = re.compile(rf"(?<![\w:]){re.escape(name)}(?![\w:])(\{{[^}}]*\}})?(?!\s*\[)")

        def substitute(match: re.Match[str], candidates: Sequence[Record] = candidates) -> str:
            matchers = _matchers(match.group(1)[1:-1]) if match.group(1) else []
            if matchers is None:
                return match.group(0)
            chosen = [
                (rexpr, labels)
                for rexpr, labels in candidates
                if all(op == "=" and labels.get(label) == value for label, op, value in matchers)
            ]
            if len(chosen) != 1 or any(op != "=" or label not in chosen[0][1] for label, op, _ in matchers):
                return match.group(0)  # not exactly one rule's output: read the stored series
            return _label_wrap(*chosen[0])

        expr = pattern.sub(substitute, expr)
    return expr


def _collect_records(groups: Iterable[Mapping[str, Any]]) -> dict[str, list[Record]]:
    records: dict[str, list[Record]] = {}
    for group in groups:
        for rule in group.get("rules") or []:
            if "record" in rule:
                records.setdefault(str(rule["record"]), []).append(
                    (str(rule["expr"]), rule.get("labels") or {})
                )
    return records


_SPLIT_RE = re.compile(
    r"^(?P<value>.+?)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$"
)


def _split(expr: str) -> tuple[str, str, float] | None:
    """``(value, op, number)`` when ``expr`` is a plain ``<expr> <op> <number>`` at its top level."""
    match = _SPLIT_RE.match(expr.strip())
    if match is None:
        return None
    value = match.group("value")
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', value)  # strings and matchers cannot hide an operator
    bare = re.sub(r"\{[^}]*\}", "{}", bare)
    depth = 0
    for char in bare:  # the comparison must not sit inside parentheses or after and/or/unless
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return None
    if depth or re.search(r"\b(and|or|unless|bool)\b|[<>=!]=?|[+\-*/%^]\s*$", _outside_parens(bare)):
        return None
    return value, match.group("op"), float(match.group("number"))


def _outside_parens(text: str) -> str:
    """The characters of ``text`` at parenthesis depth 0 (an operator inside brackets binds first)."""
    out, depth = [], 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def rules_from_groups(
    groups: Sequence[Mapping[str, Any]], default_interval: float, file: str = "", inline: bool = True
) -> list[AlertRule]:
    """Alerting rules of Prometheus rule groups (dicts as in a rule file)."""
    records = _collect_records(groups) if inline else {}
    out: list[AlertRule] = []
    for group in groups:
        interval = duration_seconds(group["interval"]) if group.get("interval") else default_interval
        for rule in group.get("rules") or []:
            if "alert" not in rule:
                continue
            expr = inline_records(str(rule["expr"]), records) if records else str(rule["expr"])
            split = _split(expr)
            out.append(
                AlertRule(
                    alert=str(rule["alert"]),
                    expr=expr,
                    interval=interval,
                    for_=duration_seconds(rule["for"]) if rule.get("for") else 0.0,
                    keep_firing_for=duration_seconds(rule["keep_firing_for"])
                    if rule.get("keep_firing_for")
                    else 0.0,
                    labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                    group=str(group.get("name", "")),
                    file=file,
                    value_expr=split[0] if split else None,
                    op=split[1] if split else None,
                    threshold=split[2] if split else None,
                )
            )
    return out


def spec_rules(spec: Spec, rules_dir: str = "") -> list[AlertRule]:
    """Every alerting rule ``spec`` compiles to (thresholds, TargetDown, SLO burn rates, includes).

    ``rules_dir`` is where Prometheus reads the rule files from (for the groups' evaluation offsets).
    """
    from tocsin.compile.rules import alert_groups
    from tocsin.compile.slo import slo_groups

    interval = duration_seconds(spec.scrape.evaluation_interval)
    base = rules_dir.rstrip("/") + "/" if rules_dir else ""
    rules = rules_from_groups(alert_groups(spec), interval, f"{base}alerts.yml")
    rules += rules_from_groups(slo_groups(spec), interval, f"{base}slos.yml")
    yaml = YAML(typ="safe")
    for index, (path, text) in enumerate(spec.included_rules.items(), start=1):
        document = yaml.load(text) or {}
        name = f"include-{index:02d}-{Path(path).name.rsplit('.', 1)[0]}.yml"
        rules += rules_from_groups(document.get("groups") or [], interval, f"{base}{name}")
    return rules
