"""``tocsin top`` in a real terminal (tmux): values move with traffic, an induced fault shows firing,
keys switch dashboard and range, ``q`` quits."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from tests.conftest import wait_for
from tests.views.conftest import ROOT, LiveStack

pytestmark = [pytest.mark.integration, pytest.mark.skipif(shutil.which("tmux") is None, reason="no tmux")]


class Terminal:
    def __init__(self, name: str) -> None:
        self.name = name

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True, check=True
        ).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait(self, text: str, timeout: float = 30) -> str:
        def shown() -> str:
            screen = self.screen()
            return screen if text in screen else ""

        return wait_for(shown, timeout=timeout, interval=0.2, what=f"{text!r} on the terminal")


@pytest.fixture
def top(live_stack: LiveStack) -> Iterator[Terminal]:
    name = f"tocsin-top-{uuid.uuid4().hex[:8]}"
    command = f"{sys.executable} -m tocsin top {live_stack.spec} --profile fast; sleep 60"
    size = ["-x", "150", "-y", "50"]
    subprocess.run(["tmux", "new-session", "-d", "-s", name, *size, "-c", str(ROOT), command], check=True)
    try:
        yield Terminal(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def _panel(screen: str, title: str, lines: int = 6) -> str:
    rows = screen.splitlines()
    start = next(i for i, row in enumerate(rows) if title in row)
    return "\n".join(rows[start : start + lines])


def test_top_shows_traffic_alerts_and_follows_keys(live_stack: LiveStack, top: Terminal) -> None:
    screen = top.wait("req/s")
    assert "Bookshop live (1/2)" in screen and "last 15m" in screen
    before = _panel(screen, "Requests/s by route")
    wait_for(lambda: _panel(top.screen(), "Requests/s by route") != before, timeout=30, interval=0.5,
             what="the request rates to move")  # fmt: skip

    live_stack.set_readers(12)
    try:
        screen = top.wait("● FIRING ReadersHigh", timeout=60)
        assert "Active readers  12  ◆ WARNING" in top.wait("Active readers  12")
    finally:
        live_stack.set_readers(0)

    top.keys("+")
    top.wait("last 1h")
    top.keys("n")
    screen = top.wait("Bookshop totals (2/2)")
    assert "Downloads by format" in screen and "Total" in screen
    top.keys("q")
    wait_for(lambda: "tocsin top" not in top.screen(), timeout=15, what="top to quit")
    time.sleep(0.2)
