"""An example's ``scenario.yaml``: what runs, how it is broken, and which alerts each break must fire.

::

    example: order_archiver                 # the directory name under examples/
    seed: 003-order-archiver
    title: Order archiver
    spec: tocsin.yaml                       # relative to the example
    ports: {watch: 8031, remediator: 8032}  # the ports tocsin.yaml and the commands name
    setup: [["${python}", -m, examples.order_archiver, setup, --db, "${db}"]]
    processes:
      - name: watch
        command: ["${python}", -m, examples.order_archiver, watch, --port, "${port.watch}"]
        ready: http://127.0.0.1:${port.watch}/health/live
    traffic: ["${python}", -m, examples.order_archiver.traffic, --db, "${db}"]
    clean: 20s                              # traffic, no fault: no alert may reach any receiver
    faults:
      - name: db-connections-killed
        title: the database drops the watcher's connections
        command: ["${python}", -m, examples.order_archiver.faults, kill-connections, --db, "${db}"]
        expect:
          - {alert: ArchiverStreamConnectionErrors, severity: critical, priority: P1,
             receivers: [oncall, team-lead], within: 40s}
        resolves_within: 60s

A fault is a command that applies the fault while it runs and undoes it when it gets SIGTERM (or
exits by itself, for a one-shot break the system must recover from on its own). ``${...}`` in
commands and URLs: ``python`` (this interpreter), ``run`` (the run's directory, where the run spec,
logs and process outputs live), ``example`` (the example's directory), ``spec`` (the run spec),
``id`` (a short name unique to the run), ``db`` (``tocsin_<example>_<id>``, a database name of the
run's own), and ``port.NAME`` for each of ``ports:`` and each stack component (``port.prometheus``,
``port.pushgateway``, ``port.receiver``, ``port.receiver_smtp``, ``port.console``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from tocsin.durations import duration_seconds
from tocsin.spec import Duration, Name, PositiveDuration, StrictModel, load_document

__all__ = ["Expect", "Fault", "Link", "Process", "Scenario", "expand", "load_scenario"]

_PLACEHOLDER = re.compile(r"\$\{([a-z_][a-z0-9_.]*)\}")
_FIXED = ("python", "run", "example", "spec", "id", "db")


def _placeholders(text: str) -> str:
    for name in _PLACEHOLDER.findall(text):
        if name not in _FIXED and not name.startswith("port."):
            known = ", ".join(f"${{{n}}}" for n in _FIXED)
            raise ValueError(f"unknown placeholder ${{{name}}}: use {known} or ${{port.NAME}}")
    return text


Text = Annotated[str, AfterValidator(_placeholders)]
Command = Annotated[list[Text], Field(min_length=1)]


class Expect(StrictModel):
    """One alert a fault must fire: at every receiver listed, with this severity and priority, in time."""

    alert: str
    severity: Literal["critical", "warning"]
    priority: Literal["P1", "P2", "P3"]
    receivers: list[Name] = Field(min_length=1)
    #: extra labels the alert must carry (``{service: watch}`` for one service's TargetDown)
    labels: dict[str, str] = Field(default_factory=dict)
    #: time budget from the fault's start to the last receiver's notification
    within: PositiveDuration = "60s"

    @property
    def key(self) -> tuple[str, str]:
        return (self.alert, self.severity)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an alert with these labels is this expectation's."""
        if labels.get("alertname") != self.alert or labels.get("severity") != self.severity:
            return False
        return all(labels.get(k) == v for k, v in self.labels.items())


class Fault(StrictModel):
    """A break: a command applying it while it runs, the alerts it must fire, how soon it must resolve."""

    name: Name
    title: str
    command: Command
    #: keep the fault this long at least (default: until every expected alert reached its receivers)
    hold: Duration = "0s"
    #: needs root (it mounts a filesystem, say): skipped, and said so, when the run is not root
    privileged: bool = False
    expect: list[Expect] = Field(min_length=1)
    #: from the fault's stop to no expected alert firing in Prometheus any more
    resolves_within: PositiveDuration = "60s"

    @property
    def budget(self) -> float:
        return max(duration_seconds(e.within) for e in self.expect)


class Process(StrictModel):
    """A long-running process of the example (service, worker, scheduler), started before the stack."""

    name: Name
    command: Command
    #: an URL that answers 200 once the process is ready
    ready: Text | None = None
    #: start it once the stack runs (a batch scheduler pushing to the Pushgateway), not before
    after_stack: bool = False
    #: its niceness (and its children's): below 0 gives a service whose latency the plan judges the CPU
    #: share a dedicated host gives it, on a machine where other tests load both cores; it needs root
    #: or CAP_SYS_NICE, without which the process runs at the usual priority and the run says so
    nice: int = Field(0, ge=-20, le=19)


class Link(StrictModel):
    """A page ``tocsin demo`` prints besides the stack's own (an app, its /metrics, its health)."""

    label: str
    url: Text


class Scenario(StrictModel):
    """The whole ``scenario.yaml`` of one example."""

    example: Name
    seed: str
    title: str
    spec: str = "tocsin.yaml"
    #: the ports the spec and the commands name (``127.0.0.1:<port>``), moved to free ones by a run
    ports: dict[Name, int] = Field(default_factory=dict)
    setup: list[Command] = Field(default_factory=list)
    teardown: list[Command] = Field(default_factory=list)
    processes: list[Process] = Field(default_factory=list)
    traffic: Command | None = None
    #: the console page ``tocsin demo`` prints first
    console: str = "/"
    links: list[Link] = Field(default_factory=list)
    #: traffic running, every target up, before the clean period starts (windows fill, first pushes land)
    warmup: Duration = "10s"
    #: traffic and no fault: not one notification may reach a receiver
    clean: PositiveDuration = "20s"
    faults: list[Fault] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        for what, names in (
            ("fault", [f.name for f in self.faults]),
            ("process", [p.name for p in self.processes]),
        ):
            seen = {n for n in names if names.count(n) > 1}
            if seen:
                raise ValueError(f"{what} names must be unique: {', '.join(sorted(seen))}")
        return self

    def fault(self, name: str) -> Fault:
        for fault in self.faults:
            if fault.name == name:
                return fault
        known = ", ".join(f.name for f in self.faults) or "none"
        raise KeyError(f"{self.example} has no fault {name!r} (its faults: {known})")


def load_scenario(path: str | Path) -> Scenario:
    """The scenario at ``path``; :class:`~tocsin.errors.SpecError` with file:line for every problem."""
    return load_document(path, Scenario, what="the scenario")


def expand(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its ``${...}`` placeholders replaced (KeyError naming the first unknown one)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{text!r}: nothing to put in ${{{name}}} (known: {', '.join(sorted(values))})")
        return values[name]

    return _PLACEHOLDER.sub(one, text)
