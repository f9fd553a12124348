"""``includes:``: raw Prometheus rule files copied into the bundle as they are, checked at load time.

Each file is read as safely as the spec (a regular UTF-8 file under the size limit,
YAML within the nesting and alias limits) and its expressions are parsed now, so a
mistake is reported at its own line in the rule file (or at the ``includes:`` entry
when the file cannot be read at all) instead of by promtool later.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tocsin.errors import Problem, SpecError
from tocsin.spec._positions import Locator
from tocsin.spec._promql import parse_promql
from tocsin.spec._read import read_text
from tocsin.spec._yaml import parse_yaml

__all__ = ["read_includes"]


def _rule_problems(document: Any, locator: Locator) -> list[Problem]:
    """The structure Prometheus needs (``groups:`` of ``rules:``) and each rule's PromQL."""
    if not isinstance(document, dict) or not isinstance(document.get("groups"), list):
        return [locator.problem((), "a rule file needs a 'groups:' list", "is it a Prometheus rule file?")]
    found: list[Problem] = []
    for g, group in enumerate(document["groups"]):
        rules = group.get("rules") if isinstance(group, dict) else None
        if not isinstance(rules, list):
            found.append(
                locator.problem(("groups", g), "a group needs a name and a 'rules:' list", "add rules:")
            )
            continue
        for r, rule in enumerate(rules):
            if not isinstance(rule, dict) or not isinstance(rule.get("expr"), str):
                found.append(
                    locator.problem(("groups", g, "rules", r), "a rule needs an 'expr:'", "add expr:")
                )
                continue
            try:
                parse_promql(rule["expr"])
            except ValueError as err:
                name = rule.get("alert") or rule.get("record") or "?"
                detail = str(err).partition(": ")[2] or str(err)
                where = ("groups", g, "rules", r, "expr")
                found.append(locator.problem(where, f"{name!r} has invalid PromQL", detail))
    return found


def read_includes(paths: list[str], locator: Locator, base: Path) -> tuple[dict[str, str], list[Problem]]:
    """``{absolute path: text}`` of every rule file, and the problems found in them.

    ``paths`` are absolute (the loader resolved them against ``base``, the spec's directory);
    problems name each file relative to ``base`` when it is inside it.
    """
    included: dict[str, str] = {}
    problems: list[Problem] = []
    for i, full in enumerate(paths):
        shown = os.path.relpath(full, base) if Path(full).is_relative_to(base) else full
        try:
            text = read_text(full, shown, what=f"rule file {shown}")
            document, positions = parse_yaml(text, shown)
        except SpecError as err:
            for problem in err.problems:  # no line: the file itself is the problem, say where it is named
                if problem.line:
                    problems.append(problem)
                else:
                    problems.append(locator.problem(("includes", i), problem.message, problem.hint))
            continue
        file_problems = _rule_problems(document, Locator(shown, positions))
        problems.extend(file_problems)
        if not file_problems:
            included[full] = text
    return included, problems
