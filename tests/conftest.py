"""Shared test helpers: free ports, deadlines (poll, never sleep-and-hope)."""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def _own_handlers(logger: logging.Logger) -> list[logging.Handler]:
    """A logger's handlers except pytest's capture handlers, which pytest adds and removes per phase."""
    return [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]


def pytest_configure(config: pytest.Config) -> None:
    """Starlette 0.37's TestClient never closes its lifespan streams (its ``__enter__`` opens two
    and nothing closes them); anyio 4.4 warns when they are collected, in whichever test that happens.
    Only the oldest-versions matrix has such a Starlette; the leak is the test client's, not the app's."""
    try:
        from importlib.metadata import version

        major, minor = (int(p) for p in version("starlette").split(".")[:2])
    except Exception:  # not installed, or a version string we do not know: filter nothing
        return
    if (major, minor) < (0, 38):
        config.addinivalue_line(
            "filterwarnings",
            "ignore:Exception ignored in. <function MemoryObject(Receive|Send)Stream.__del__"
            ":pytest.PytestUnraisableExceptionWarning",
        )


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Async tests run on asyncio, whatever anyio version the venv has.

    anyio before 4.5 parametrizes every ``@pytest.mark.anyio`` test over trio too, installed or not;
    the oldest-versions matrix (``make matrix``) has anyio 4.4, which tocsin admits.
    """
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolate_logging() -> Iterator[None]:
    """Each test leaves the stdlib logging tree as it found it.

    Libraries imported in-process reconfigure loggers they do not own (Streamlit sets ``uvicorn.error``
    to ``propagate = False`` with a handler of its own); without this a later test sees their state.
    """
    manager = logging.root.manager
    before = {
        name: (lg.level, lg.propagate, lg.disabled, _own_handlers(lg))
        for name, lg in [("", logging.root), *manager.loggerDict.items()]
        if isinstance(lg, logging.Logger)
    }
    yield
    for name, lg in [("", logging.root), *list(manager.loggerDict.items())]:
        if not isinstance(lg, logging.Logger):
            continue
        level, propagate, disabled, handlers = before.get(name, (logging.NOTSET, True, False, []))
        if name == "" and name not in before:
            continue
        pytest_handlers = [h for h in lg.handlers if h not in _own_handlers(lg)]
        lg.handlers = [*handlers, *pytest_handlers]
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled


#: Test ports come from below Linux' ephemeral range (32768–60999), where no outgoing connection's
#: local port can take one between the choice and the component's bind, and each xdist worker has a
#: slice of its own, so two workers never pick the same port (both races flaked the HA tests).
_PORT_BASE, _PORTS_PER_WORKER = 20_000, 2_500
_port_offsets = itertools.count(random.randrange(_PORTS_PER_WORKER))


def _worker_slice() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    return _PORT_BASE + (int(worker) % 5 if worker.isdigit() else 0) * _PORTS_PER_WORKER


def _bind_next_free() -> socket.socket:
    """A socket bound to the next port of this worker's slice that nothing on 127.0.0.1 holds."""
    base = _worker_slice()
    for _ in range(_PORTS_PER_WORKER):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", base + next(_port_offsets) % _PORTS_PER_WORKER))
        except OSError:  # taken (by another suite, or a component of an earlier test still there)
            s.close()
            continue
        return s
    raise RuntimeError(f"no free port in 127.0.0.1:{base}-{base + _PORTS_PER_WORKER - 1}")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (tests run in parallel with other suites)."""
    with _bind_next_free() as s:
        return int(s.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 (all held open until all are chosen)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(_bind_next_free())
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
