"""Shared test helpers: free ports, deadlines (poll, never sleep-and-hope)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (tests run in parallel with other suites)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 (all held open until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes (then fail the test)."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # the thing polled is not up yet
            last_exc = exc
        else:
            if value:
                return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}: last error {last_exc!r}")


def serve_uvicorn(app: object, **config: object) -> tuple[str, Callable[[], None]]:
    """Run ``app`` under a real uvicorn in a thread; returns its base URL and a stop function."""
    import threading

    import uvicorn

    port = free_port()
    options: dict[str, object] = {"host": "127.0.0.1", "port": port, "log_level": "warning", "ws": "none"}
    server = uvicorn.Server(uvicorn.Config(app, **{**options, **config}))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn to start")

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{port}", stop


def serve_script(script: str | os.PathLike[str], *args: str) -> tuple[int, Callable[[], None]]:
    """Run a Python server script that prints its port on its first line; returns the port and a stop.

    For servers that need a process of their own (Django's settings are once per interpreter).
    The script finds ``src/`` and the repository root on its path.
    """
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    stdout = proc.stdout

    def stop() -> None:
        proc.terminate()
        proc.wait(10)
        stdout.close()

    line = stdout.readline()
    if not line.strip().isdigit():
        stop()
        pytest.fail(f"{script} did not print its port (got {line!r})")
    return int(line), stop
