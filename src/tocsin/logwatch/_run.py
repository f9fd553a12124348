"""Running the watcher as a process: one poll loop, ``/metrics`` on 127.0.0.1, clean stop on SIGTERM.

``tocsin up`` starts it as ``python -m tocsin.logwatch --config FILE --state-dir DIR --port N``;
``tocsin logwatch`` is the same from the CLI. A lock file in the state directory keeps two watchers
from sharing positions.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from tocsin.errors import UsageError

from ._watcher import Watcher
from .config import load_config, parse_duration

__all__ = ["DEFAULT_PORT", "run"]

#: Where ``/metrics`` listens unless told otherwise (``--port 0`` picks a free port and prints it).
DEFAULT_PORT = 9465


def _lock(state_dir: Path) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "logwatch.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError(
            f"another logwatch uses the state directory {state_dir} (stop it, or pass another --state-dir)"
        ) from None
    return fd


def run(
    config_path: str | Path,
    state_dir: str | Path = ".tocsin/logwatch",
    *,
    section: str | None = None,
    port: int | None = DEFAULT_PORT,
    host: str = "127.0.0.1",
    once: bool = False,
    engine: str = "auto",
    rotate_wait: float = 2.0,
    park_after: float = 60.0,
    stop: threading.Event | None = None,
) -> int:
    """Follow the files of ``config_path`` (its ``section`` key, if given) until SIGTERM/SIGINT (or,
    with ``once``, until caught up)."""
    config = load_config(config_path, section=section)
    state = Path(state_dir)
    lock_fd = _lock(state)
    try:
        watcher = Watcher(
            config,
            state,
            Path(config_path).resolve().parent,
            engine=engine,
            rotate_wait=rotate_wait,
            park_after=park_after,
        )
        try:
            _follow(
                watcher, port, host, once, stop or threading.Event(), parse_duration(config.poll_interval)
            )
        finally:
            watcher.close()
    finally:
        os.close(lock_fd)
    return 0


def _serve(watcher: Watcher, port: int, host: str) -> WSGIServer:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(watcher.collector)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as err:
        raise UsageError(
            f"cannot serve /metrics on {host}:{port}: {err.strerror} (pass another --port)"
        ) from None
    print(
        f"tocsin logwatch: /metrics on http://{host}:{server.server_port}/metrics",
        file=sys.stderr,
        flush=True,
    )
    return server


def _follow(
    watcher: Watcher, port: int | None, host: str, once: bool, stop: threading.Event, interval: float
) -> None:
    server = _serve(watcher, port, host) if port is not None else None
    engines = ", ".join(f"{k}={v}" for k, v in watcher.engines.items())
    print(
        f"tocsin logwatch: following {len(watcher.sources)} source(s), engines {engines}",
        file=sys.stderr,
        flush=True,
    )

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    try:
        while not stop.is_set():
            progressed = watcher.poll()
            if once and not progressed:
                break
            if not progressed:
                stop.wait(interval)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def main(argv: list[str] | None = None) -> int:
    """``python -m tocsin.logwatch``: ``tocsin logwatch`` without loading the rest of the CLI."""
    import argparse

    from tocsin.cli import run_command
    from tocsin.cli._logwatch import add_watch_arguments

    parser = argparse.ArgumentParser(prog="python -m tocsin.logwatch", description="Follow log files.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    add_watch_arguments(parser)
    args = parser.parse_args(argv)
    return run_command(args)
