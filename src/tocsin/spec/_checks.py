"""Whole-spec steps after validation: expansions, then checks (errors refuse the spec, warnings don't).

An expansion is a function ``(spec) -> (spec, origins)`` that returns a copy of the spec with
entries it generates (a pack's alerts and panels as ordinary ``alerts:``/``dashboards:`` items),
and ``origins``: ``{generated path: path it came from}`` (``{("alerts", 12): ("packs", 0)}``) so
a problem in a generated entry is reported at the line of what the user wrote. Expansions run
before the checks, so generated entries are checked like hand-written ones.

A check is a function ``(spec) -> Iterable[(loc, message, hint)]``; ``loc`` is the path
of the node it is about from the spec's root (``("routes", "P1", "receivers", 0)``), which
the loader turns into ``file:line:column``. A section with rules that span sections (a
reference to a service, a receiver, an alert) adds its check to one of the tuples below;
checks that only need the section's own values belong in its model's validators instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tocsin.spec._checklist import check_checklist
from tocsin.spec._history import check_report_references
from tocsin.spec._lint import lint_spec
from tocsin.spec._long_term import fill_long_term, long_term_warnings
from tocsin.spec._model import Spec
from tocsin.spec._packs import expand_packs
from tocsin.spec._profiles import check_pack_profiles
from tocsin.spec._runbooks import check_runbooks
from tocsin.spec._time_intervals import check_time_intervals, unused_time_intervals
from tocsin.spec._validate import (
    check_names,
    check_reachability,
    check_references,
    check_templates,
    moved_receiver_warnings,
    secret_warnings,
)

__all__ = [
    "ERROR_CHECKS",
    "EXPANSIONS",
    "WARNING_CHECKS",
    "Found",
    "expand_spec",
    "spec_checks",
    "spec_warning_checks",
]

Loc = tuple[str | int, ...]
Found = tuple[Loc, str, str]
Check = Callable[[Spec], Iterable[Found]]
Expansion = Callable[[Spec], tuple[Spec, dict[Loc, Loc]]]

#: Run in order on the validated spec; each sees what the previous ones generated.
EXPANSIONS: tuple[Expansion, ...] = (expand_packs, fill_long_term)

#: Problems that make the spec invalid, reported all together.
ERROR_CHECKS: tuple[Check, ...] = (
    check_names,
    check_templates,
    check_references,
    check_reachability,
    check_report_references,
    check_time_intervals,
    check_checklist,
    check_runbooks,
    check_pack_profiles,
)
#: Things that work but probably not as meant: printed as ``tocsin: warning: ...``.
WARNING_CHECKS: tuple[Check, ...] = (
    secret_warnings,
    moved_receiver_warnings,
    lint_spec,
    unused_time_intervals,
    long_term_warnings,
)


def expand_spec(spec: Spec) -> tuple[Spec, dict[Loc, Loc]]:
    """``spec`` with every expansion applied, and where each generated entry came from."""
    origins: dict[Loc, Loc] = {}
    for expansion in EXPANSIONS:
        spec, found = expansion(spec)
        origins.update(found)
    return spec, origins


def spec_checks(spec: Spec) -> list[Found]:
    """Every error the checks find in ``spec``."""
    return [found for check in ERROR_CHECKS for found in check(spec)]


def spec_warning_checks(spec: Spec) -> list[Found]:
    """Every warning the checks find in ``spec``."""
    return [found for check in WARNING_CHECKS for found in check(spec)]
