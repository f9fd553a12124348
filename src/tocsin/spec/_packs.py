"""The ``packs:`` section: one line per pack adds its alerts, dashboard panels and recording rules.

::

    packs:
      - {use: queue, prefix: ocr, items: documents, type_label: document_type}
      - use: jobs
        job: archiver
        items: orders
        done: archived
        priority: {errors: P1, duration: P3}          # per alert key
        thresholds: {duration: {warning: "> 3600"}}   # per alert key; null drops a level
        for: {"*": 10m}                               # per alert key, or "*" for all of them
        runbook: {errors: runbooks/archiver-errors.md} # per alert key (or "*"): a URL or a .md file
        disable: [baseline]
        profiles: {fast: {baseline_min_duration: 1s}} # the pack's parameters under --profile fast

Each entry is checked here (unknown pack, parameter or alert key, a bad
threshold) at its own line; :func:`expand` turns it into ordinary
:class:`~tocsin.spec.Alert` and :class:`~tocsin.spec.Panel` models, which the
spec appends to its ``alerts`` and ``dashboards`` (:func:`expand_packs`, one of the
loader's ``EXPANSIONS``), so the compiler, its
promtool unit tests, the console and Grafana treat them exactly like
hand-written ones. The definitions are data (:mod:`tocsin.spec._packdefs`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from tocsin.spec._dashboards import Panel
from tocsin.spec._packdefs import PACKS, AlertDef, PackDef, RecordDef
from tocsin.spec._types import (
    AlertName,
    Duration,
    LabelName,
    Name,
    Priority,
    StrictModel,
    Threshold,
    duration_seconds,
)

if TYPE_CHECKING:
    from tocsin.spec._model import Spec

__all__ = ["Expansion", "LevelOverride", "PackUse", "expand", "expand_packs", "pack_records"]

Loc = tuple[str | int, ...]

PackName = Literal[
    "jobs", "stream", "queue", "cache", "etl", "anomaly", "llm", "websocket", "security", "db", "client",
    "sessions", "frontend",
]  # fmt: skip
_COMMON = frozenset(
    {"use", "name", "prefix", "namespace", "service", "selector", "priority", "thresholds", "for", "disable",
     "dashboard", "labels", "runbook", "profiles"}
)  # fmt: skip


class LevelOverride(StrictModel):
    """New thresholds for one alert of a pack; ``null`` removes that level."""

    warning: Threshold | None = None
    critical: Threshold | None = None


class PackUse(StrictModel):
    """One pack in the spec (``use:``), its common settings and its own parameters."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    use: PackName
    name: AlertName | None = None
    prefix: str = ""
    namespace: str | None = None
    service: Name | None = None
    selector: dict[LabelName, str] = Field(default_factory=dict)
    priority: dict[str, Priority] = Field(default_factory=dict)
    thresholds: dict[str, LevelOverride] = Field(default_factory=dict)
    for_: dict[str, Duration] = Field(default_factory=dict, alias="for")
    disable: list[str] = Field(default_factory=list)
    dashboard: str | bool = True
    labels: dict[LabelName, str] = Field(default_factory=dict)
    #: per alert key (or ``"*"``): a URL, or a Markdown file next to the spec (``runbooks/x.md``)
    runbook: dict[str, str] = Field(default_factory=dict)
    #: per profile name: parameters of this pack laid over its own under ``--profile NAME`` (a plan's
    #: time-scaled value that is not a threshold, e.g. the jobs pack's ``baseline_min_duration``)
    profiles: dict[Name, dict[str, Any]] = Field(default_factory=dict)

    @property
    def definition(self) -> PackDef:
        return PACKS[self.use]

    def params(self) -> dict[str, Any]:
        """The pack's own parameters: defaults with the spec's values over them."""
        return {**self.definition.params, **(self.model_extra or {})}

    @model_validator(mode="after")
    def _check(self) -> PackUse:
        pack = self.definition
        for key in self.model_extra or {}:
            if key not in pack.params:
                allowed = sorted([*pack.params, *_COMMON])
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                raise ValueError(f"pack {self.use!r} has no parameter {key!r}: {hint}")
        for key, default in pack.params.items():
            problem = _param_problem(pack, key, default, self.params()[key])
            if problem:
                raise ValueError(problem)
        for profile, overrides in self.profiles.items():
            for key, value in overrides.items():
                if key not in pack.params:
                    known = ", ".join(pack.params) or "none"
                    raise ValueError(f"pack {self.use!r}: profiles.{profile}: no parameter {key!r}"
                                     f" (its parameters: {known})")  # fmt: skip
                problem = _param_problem(pack, key, pack.params[key], value, f"profiles.{profile}: ")
                if problem:
                    raise ValueError(problem)
        for name in ("prefix", "namespace"):
            value = getattr(self, name)
            if (value and not value.replace("_", "a").isalnum()) or (value and value[0].isdigit()):
                raise ValueError(f"{name} {value!r} cannot start a metric name: use letters, digits and '_'")
        keys = {a.key for a in pack.alerts}
        for field, given in (
            ("priority", self.priority),
            ("thresholds", self.thresholds),
            ("for", self.for_),
            ("runbook", self.runbook),
        ):
            for key in given:
                if key not in keys and not (field in ("for", "runbook") and key == "*"):
                    raise ValueError(_unknown_key(self.use, field, key, keys))
        for key in self.disable:
            if key not in keys:
                raise ValueError(_unknown_key(self.use, "disable", key, keys))
        expand(self)  # builds the alerts, so a bad override is reported here, at the pack
        return self


def _param_problem(pack: PackDef, key: str, default: str | bool | None, value: Any, where: str = "") -> str:
    """What is wrong with ``value`` for the parameter ``key`` of ``pack`` ("" when nothing is);
    ``where`` (``profiles.fast: ``) says where it was written."""
    if default is None and not value:
        return f"pack {pack.name!r} needs {key!r}: add e.g. {key}: my-{key}"
    name = f"pack {pack.name!r}: {where}{key}"
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else f"{name} must be true or false, not {value!r}"
    kind = pack.kinds.get(key)
    if kind == "count":
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if text.isdigit() and int(text) >= 1:
            return ""
        return f"{name} must be a whole number of 1 or more, not {value!r}"
    if default is not None and not isinstance(value, str):
        return f"{name} must be a string, not {value!r}"
    if kind == "duration":
        try:
            duration_seconds(value)
        except ValueError:
            return f"{name} must be a duration such as 90s, 15m or 7d, not {value!r}"
    return ""


def _unknown_key(pack: str, field: str, key: str, keys: set[str]) -> str:
    known = ", ".join(sorted(keys)) or "none: this pack has no alerts"
    return f"{field}: pack {pack!r} has no alert {key!r}: its alerts are {known}"


def _camel(text: str) -> str:
    return "".join(
        part[:1].upper() + part[1:] for part in text.replace("-", "_").replace(".", "_").split("_")
    )


@dataclass(frozen=True)
class Expansion:
    """What one pack entry adds to the spec."""

    alerts: list[Any]  # tocsin.spec.Alert (imported lazily: _model imports this module)
    dashboard_title: str | None
    panels: list[Panel]
    records: list[dict[str, Any]]


def _variables(use: PackUse) -> dict[str, str]:
    pack = use.definition
    params = use.params()
    namespace = pack.namespace if use.namespace is None else use.namespace
    prefix = f"{use.prefix}_" if use.prefix else ""
    matchers = _matchers(use)
    inner = ",".join(f'{label}="{value}"' for label, value in sorted(matchers.items()))
    name = (
        use.name
        if use.name is not None
        else _camel(str(params.get(pack.name_from, "") or ""))
        if pack.name_from
        else ""
    )
    variables = {k: str(v) for k, v in params.items()}
    for key, kind in pack.kinds.items():
        if kind == "duration":
            seconds = duration_seconds(str(params[key]))
            variables[f"{key}_seconds"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
    if "items" in params:
        variables["Items"] = str(params["items"]).capitalize()
    variables |= {
        "m": prefix + (f"{namespace}_" if namespace else ""),
        "p": prefix,
        "sel": f"{{{inner}}}" if inner else "",
        "and": f",{inner}" if inner else "",
        "Name": name or "",
    }
    return variables


def _matchers(use: PackUse) -> dict[str, str]:
    """The label matchers every expression of the pack carries: ``selector:`` and the pack's own."""
    params = use.params()
    matchers = dict(use.selector)
    for param, label in use.definition.matchers.items():
        if params.get(param):
            matchers[label] = str(params[param])
    return matchers


def _fill(template: str, variables: Mapping[str, str]) -> str:
    return Template(template).safe_substitute(variables)


def _alert(use: PackUse, definition: AlertDef, variables: Mapping[str, str]) -> dict[str, Any]:
    levels: dict[str, str | None] = {"warning": definition.warning, "critical": definition.critical}
    override = use.thresholds.get(definition.key)
    if override is not None:
        for level in override.model_fields_set:
            levels[level] = getattr(override, level)
    for_ = use.for_.get(definition.key, use.for_.get("*", definition.for_))
    alert: dict[str, Any] = {
        "name": _fill(definition.name, variables),
        "expr": _fill(definition.expr, variables),
        "priority": use.priority.get(definition.key, definition.priority),
        "summary": _fill(definition.summary, variables),
        "labels": {"pack": use.use, **use.labels},
    }
    alert |= {level: _fill(text, variables) for level, text in levels.items() if text is not None}
    if for_:
        alert["for"] = for_
    runbook = use.runbook.get(definition.key, use.runbook.get("*"))
    if runbook:
        alert["runbook"] = runbook
    if use.service:
        alert["service"] = use.service
    return alert


def expand(use: PackUse) -> Expansion:
    """The alerts, panels and recording rules of one pack entry."""
    from tocsin.spec._model import Alert  # _model imports this module

    pack = use.definition
    variables = _variables(use)
    names: dict[str, str] = {}
    alerts = []
    for definition in pack.alerts:
        if definition.key in use.disable:
            continue
        raw = _alert(use, definition, variables)
        try:
            alerts.append(Alert.model_validate(raw))
        except ValidationError as err:
            detail = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in err.errors())
            raise ValueError(f"pack {use.use!r}, alert {definition.key!r}: {detail}") from None
        names[definition.key] = raw["name"]
    params = use.params()
    panels = []
    for panel in pack.panels:
        if panel.when and not params.get(panel.when):
            continue
        raw_panel: dict[str, Any] = {
            "title": _fill(panel.title, variables),
            "kind": panel.kind,
            "expr": _fill(panel.expr, variables),
            "unit": panel.unit,
        }
        if panel.alert and panel.alert in names:
            raw_panel["alert"] = names[panel.alert]
        if panel.legend:
            raw_panel["legend"] = _fill(panel.legend, variables)
        if panel.min is not None:
            raw_panel["min"] = panel.min
        panels.append(Panel.model_validate(raw_panel))
    records = [_record(r, variables, use) for r in pack.records]
    return Expansion(alerts, _dashboard_title(use, variables), panels, records)


def _record(definition: RecordDef, variables: Mapping[str, str], use: PackUse) -> dict[str, Any]:
    """The rule, and its promtool test as plain data: input series, expected sample."""
    labels = {label: "example" for label in definition.keeps} | _matchers(use)
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {
        "record": _fill(definition.record, variables),
        "expr": _fill(definition.expr, variables),
        "test": {
            "input_series": [
                {"series": f"{_fill(metric, variables)}{{{inner}}}", "values": values}
                for metric, values in definition.test_series.items()
            ],
            "exp_labels": {k: v for k, v in labels.items() if k in definition.keeps},
            "expect": definition.expect,
            "eval_time": definition.expect_at,
        },
    }


def _dashboard_title(use: PackUse, variables: Mapping[str, str]) -> str | None:
    if use.dashboard is False:
        return None
    if isinstance(use.dashboard, str):
        return use.dashboard
    pack = use.definition
    params = use.params()
    instance = str(params.get(pack.name_from) or "") if pack.name_from else ""
    instance = instance or use.prefix or use.namespace or ""
    return f"{pack.title}: {instance}" if instance else pack.title


def expand_packs(spec: Spec) -> tuple[Spec, dict[Loc, Loc]]:
    """The spec with every pack's alerts and dashboard panels appended, and where each came from.

    A pack's panels join the hand-written dashboard of the same title (after its own panels), or
    a new dashboard. Generated entries are checked like written ones (a clashing alert name is a
    ``duplicate alert``), and reported at the line of the pack that made them.
    """
    if not spec.packs:
        return spec, {}
    from tocsin.spec._dashboards import Dashboard

    alerts, dashboards = list(spec.alerts), list(spec.dashboards)
    origins: dict[Loc, Loc] = {}
    for index, use in enumerate(spec.packs):
        expansion = expand(use)
        for alert in expansion.alerts:
            origins[("alerts", len(alerts))] = ("packs", index)
            alerts.append(alert)
        if expansion.dashboard_title is None or not expansion.panels:
            continue
        found = next((i for i, d in enumerate(dashboards) if d.title == expansion.dashboard_title), None)
        if found is None:
            found = len(dashboards)
            dashboards.append(Dashboard(title=expansion.dashboard_title, panels=[]))
            origins[("dashboards", found)] = ("packs", index)
        board = dashboards[found]
        for panel in range(len(board.panels), len(board.panels) + len(expansion.panels)):
            origins[("dashboards", found, "panels", panel)] = ("packs", index)
        dashboards[found] = board.model_copy(update={"panels": [*board.panels, *expansion.panels]})
    return spec.model_copy(update={"alerts": alerts, "dashboards": dashboards}), origins


def pack_records(packs: list[PackUse]) -> list[dict[str, Any]]:
    """The recording rules of every pack (with their ``test``), each once: two caches under one
    prefix share theirs."""
    seen: dict[str, dict[str, Any]] = {}
    for use in packs:
        for record in expand(use).records:
            seen.setdefault(record["record"], record)
    return list(seen.values())
