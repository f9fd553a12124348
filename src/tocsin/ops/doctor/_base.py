"""What every doctor check shares: a finding in plain words, and the context the checks read."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tocsin.ops._http import CallFailed, call
from tocsin.promapi import PrometheusAPI, PrometheusAPIError
from tocsin.stack.components import Component
from tocsin.stack.layout import StackLayout
from tocsin.stack.status import StackStatus

__all__ = ["Check", "Context", "Finding", "error", "ok", "warning"]


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: ``error`` (something does not work), ``warning`` (it will, or it may
    not work as meant) or ``ok``; ``problem`` and ``fix`` are sentences for a person."""

    severity: str
    area: str
    subject: str
    problem: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def error(area: str, subject: str, problem: str, fix: str) -> Finding:
    return Finding("error", area, subject, problem, fix)


def warning(area: str, subject: str, problem: str, fix: str) -> Finding:
    return Finding("warning", area, subject, problem, fix)


def ok(area: str, subject: str, problem: str) -> Finding:
    return Finding("ok", area, subject, problem)


@dataclass
class Context:
    """The spec (None when it does not load), the state dir and what runs there."""

    layout: StackLayout
    spec: Any
    spec_error: str
    status: StackStatus | None
    components: list[Component]
    #: free space below this fraction of the state dir's filesystem is a problem
    min_free: float = 0.1
    timeout: float = 5.0
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return bool(self.status and self.status.running)

    def up(self, kind: str) -> list[Component]:
        """The components of ``kind`` that answer now."""
        states = {c.name: c.up for c in (self.status.components if self.status else [])}
        return [c for c in self.components if c.kind == kind and states.get(c.name)]

    def prometheus(self) -> PrometheusAPI | None:
        answering = self.up("prometheus")
        if not answering:
            return None
        if "prom" not in self._cache:
            self._cache["prom"] = PrometheusAPI(answering[0].url, timeout=self.timeout)
        return self._cache["prom"]  # type: ignore[no-any-return]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query on the stack's Prometheus ([] when it is not there or the query fails)."""
        prom = self.prometheus()
        if prom is None:
            return []
        try:
            return prom.query(expr)
        except PrometheusAPIError:
            return []

    def scalar(self, expr: str) -> float | None:
        answer = self.query(expr)
        return float(answer[0]["value"][1]) if answer else None

    def metrics(self, url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
        """A component's own ``/metrics``, parsed: name → [(labels, value)] ({} when unreachable)."""
        key = f"metrics:{url}"
        if key not in self._cache:
            try:
                text = call("GET", f"{url}/metrics", timeout=self.timeout).text
            except CallFailed:
                self._cache[key] = {}
            else:
                parsed: dict[str, list[tuple[dict[str, str], float]]] = {}
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        parsed.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
                self._cache[key] = parsed
        return self._cache[key]  # type: ignore[no-any-return]

    def log_tail(self, name: str, lines: int = 400) -> list[str]:
        path: Path = self.layout.log(name)
        try:
            with path.open("rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(max(0, size - 256 * 1024))
                return handle.read().decode(errors="replace").splitlines()[-lines:]
        except OSError:
            return []

    def close(self) -> None:
        prom = self._cache.pop("prom", None)
        if prom is not None:
            prom.close()


Check = Callable[[Context], Iterable[Finding]]


def once(func: Callable[[Context], Any]) -> Callable[[Context], Any]:
    """Cache a per-context computation (the compiled config is read by several checks)."""

    @functools.wraps(func)
    def cached(ctx: Context) -> Any:
        key = f"once:{func.__name__}"
        if key not in ctx._cache:
            ctx._cache[key] = func(ctx)
        return ctx._cache[key]

    return cached
