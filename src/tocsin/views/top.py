"""``tocsin top``: the spec's dashboards and the firing alerts in a terminal (Textual), over SSH too.

The same view model and the same queries as the console (:mod:`tocsin.views.data`); panels are drawn as
text (:mod:`tocsin.views._text`). Keys: ``n``/``p`` next/previous dashboard, ``+``/``-`` longer/shorter
range, ``r`` refresh now, ``q`` quit.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from tocsin.views._schema import ViewModel
from tocsin.views._stackapi import StackAPI, UpstreamError
from tocsin.views._text import alert_lines, panel_lines
from tocsin.views._time import RANGES, seconds
from tocsin.views.data import dashboard_data

__all__ = ["TopApp", "run_top"]


class TopApp(App[int]):
    """One dashboard at a time, refreshed on its ``refresh`` (at most every 2 s), alerts below."""

    CSS = """
    #header { height: 1; background: $primary; color: $text; padding: 0 1; }
    #panels { height: 1fr; padding: 0 1; }
    .panel { margin: 0 0 1 0; }
    #alerts { height: auto; max-height: 12; border-top: solid $primary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[Any]] = [
        Binding("n,right", "dashboard(1)", "next dashboard"),
        Binding("p,left", "dashboard(-1)", "previous"),
        Binding("plus,equals_sign", "range(1)", "longer range"),
        Binding("minus", "range(-1)", "shorter range"),
        Binding("r", "refresh", "refresh"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, model: ViewModel, dashboard: str | None = None, range_: str = "") -> None:
        super().__init__()
        self.model = model
        self.api = StackAPI.from_model(model)
        boards = model["dashboards"]
        wanted = (dashboard or "").lower()
        self.index = next((i for i, d in enumerate(boards) if wanted in (d["slug"], d["title"].lower())), 0)
        self.range = range_ or ""
        self._timer: Any = None

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield VerticalScroll(id="panels")
        yield Static(id="alerts")
        yield Footer()

    @property
    def board(self) -> Any:
        boards = self.model["dashboards"]
        return boards[self.index % len(boards)] if boards else None

    def _span(self) -> tuple[str, float]:
        text = self.range or (self.board["time_from"].removeprefix("now-") if self.board else "1h")
        try:
            return text, seconds(text)
        except ValueError:
            return "1h", 3600.0

    async def on_mount(self) -> None:
        await self._rebuild()

    async def _rebuild(self) -> None:
        container = self.query_one("#panels", VerticalScroll)
        await container.remove_children()
        if self.board is not None:
            await container.mount_all(
                [Static(classes="panel", id=f"p{p['index']}") for p in self.board["panels"]]
            )
        if self._timer is not None:
            self._timer.stop()
        every = max(2.0, float(self.board["refresh"]) if self.board else 10.0)
        self._timer = self.set_interval(every, self.action_refresh)
        await self.action_refresh()

    async def action_refresh(self) -> None:
        board = self.board
        label, span = self._span()
        title = board["title"] if board else "no dashboards in the spec"
        position = f"{self.index % max(len(self.model['dashboards']), 1) + 1}/{len(self.model['dashboards'])}"
        clock = time.strftime("%H:%M:%S")
        header = f"tocsin top · {self.model['app']} · {title} ({position}) · last {label} · {clock}"
        self.query_one("#header", Static).update(header)
        width = max(self.size.width - 4, 40)
        end = time.time()
        panels, alerts = await asyncio.gather(
            dashboard_data(
                self.api,
                board,
                end - span,
                end,
                [width] * len(board["panels"]),
                self.model["scrape_interval"],
            )
            if board
            else asyncio.sleep(0, []),
            self._alerts(),
        )
        if board is not None and board is self.board:
            for panel, data in zip(board["panels"], panels, strict=True):
                for widget in self.query(f"#p{panel['index']}"):
                    if isinstance(widget, Static):
                        widget.update("\n".join(panel_lines(panel, data, width)))
        self.query_one("#alerts", Static).update("\n".join(alerts))

    async def _alerts(self) -> list[str]:
        try:
            return alert_lines((await self.api.prom("/api/v1/alerts"))["alerts"])
        except UpstreamError as exc:
            return [f"[bold red]✗ {exc}[/]"]

    async def action_dashboard(self, step: int) -> None:
        if self.model["dashboards"]:
            self.index = (self.index + step) % len(self.model["dashboards"])
            self.range = ""
            await self._rebuild()

    async def action_range(self, step: int) -> None:
        _, span = self._span()
        longer = [r for r in RANGES if seconds(r) > span]
        shorter = [r for r in RANGES if seconds(r) < span]
        if step > 0 and longer:
            self.range = longer[0]
        elif step < 0 and shorter:
            self.range = shorter[-1]
        await self.action_refresh()

    async def on_unmount(self) -> None:
        await self.api.aclose()


def run_top(model: ViewModel, dashboard: str | None = None, range_: str = "") -> int:
    """Run until ``q``; returns the exit code."""
    TopApp(model, dashboard, range_).run()
    return 0
