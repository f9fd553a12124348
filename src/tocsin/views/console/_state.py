"""The console's per-process state: the view model (re-read when ``tocsin reload`` swaps the bundle),
the stack API client, the template environment and the form token."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tocsin.views._schema import DashboardModel, ViewModel, read_model
from tocsin.views._stackapi import StackAPI
from tocsin.views.console._security import new_token

__all__ = ["Console", "ConsoleConfig"]

HERE = Path(__file__).resolve().parent
NAV = (
    ("dashboards", "Dashboards", "d"),
    ("alerts", "Alerts", "a"),
    ("silences", "Silences", "s"),
    ("targets", "Targets", "t"),
    ("rules", "Rules", "r"),
    ("checklist", "Checklist", "c"),
    ("health", "Health", "h"),
    ("logs", "Logs", "l"),
    ("explore", "Explore", "e"),
)


@dataclass
class ConsoleConfig:
    """Where the model comes from (a file re-read on change, or a fixed model) and what else to read."""

    model_path: Path | None = None
    model: ViewModel | None = None
    logs_db: Path | None = None


def _stamp(value: float | str | None) -> float | None:
    """Unix seconds from a number or an RFC 3339 time (Prometheus writes nanoseconds); None if neither."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return value or None


def _fmt_time(value: float | str | None) -> str:
    stamp = _stamp(value)
    if stamp is None:
        return str(value) if value else "-"
    if stamp < 0:  # Go's zero time: never happened
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _duration(seconds: float) -> str:
    """86400 → ``1d``, 90 → ``1m30s``: the spec's own way of writing durations."""
    parts, rest = [], int(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def _ago(value: float | str | None) -> str:
    stamp = _stamp(value)
    if stamp is None or stamp < 0:
        return ""
    delta = time.time() - stamp
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if abs(delta) >= size or unit == "s":
            text = f"{int(abs(delta) // size)} {unit}"
            return f"in {text}" if delta < 0 else f"{text} ago"
    return ""


@dataclass
class Console:
    config: ConsoleConfig
    token: str = field(default_factory=new_token)
    _model: ViewModel | None = None
    _stamp: tuple[str, int] | None = None
    _api: StackAPI | None = None

    def __post_init__(self) -> None:
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["when"] = _fmt_time
        self.templates.filters["ago"] = _ago
        self.templates.filters["duration"] = _duration
        self.templates.globals["nav"] = NAV
        self.asset_version = _asset_version()

    # --- model ------------------------------------------------------------------------------------
    @property
    def model(self) -> ViewModel:
        """The current model; a bundle swapped by ``tocsin reload`` is picked up on the next request."""
        if self.config.model is not None:
            return self.config.model
        path = self.config.model_path
        assert path is not None
        real = os.path.realpath(path)
        stamp = (real, os.stat(real).st_mtime_ns)
        if stamp != self._stamp or self._model is None:
            self._model = read_model(real)
            self._stamp = stamp
            if self._api is not None and self._api.key() != StackAPI.model_key(self._model):
                old, self._api = self._api, None
                self._stale.append(old)
        return self._model

    _stale: list[StackAPI] = field(default_factory=list)

    @property
    def api(self) -> StackAPI:
        model = self.model
        if self._api is None:
            self._api = StackAPI.from_model(model)
        return self._api

    def dashboard(self, slug: str) -> DashboardModel | None:
        return next((d for d in self.model["dashboards"] if d["slug"] == slug), None)

    async def aclose(self) -> None:
        for api in [*self._stale, *([self._api] if self._api else [])]:
            await api.aclose()

    # --- pages ------------------------------------------------------------------------------------
    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        page = self.templates.get_template(template)
        html = page.render(
            request=request,
            app=self.model["app"],
            active=context.pop("active", ""),
            token=self.token,
            v=self.asset_version,
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers=_SECURITY_HEADERS)


_SECURITY_HEADERS = {
    # everything is served by the console itself: no CDN, no inline script (data goes in JSON blocks)
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def _asset_version() -> str:
    """Changes when any static file changes, so browsers never run a stale console.js."""
    stamps = [p.stat().st_mtime_ns for p in (HERE / "static").rglob("*") if p.is_file()]
    return format(hash(tuple(sorted(stamps))) & 0xFFFFFFFF, "x")
