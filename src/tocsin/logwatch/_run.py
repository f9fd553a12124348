"""Running the watcher as a process: one poll loop, ``/metrics`` on 127.0.0.1, clean stop on SIGTERM.

``tocsin up`` starts it as ``python -m tocsin.logwatch --config logwatch.json --state-dir DIR --port N``
on the JSON config it compiled from the spec's ``logs:``; ``tocsin logwatch --config logwatch.yaml`` is
the same after validating a YAML file. A lock file in the state directory keeps two watchers from
sharing positions. This module imports no layer above the watcher (no CLI, no spec).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import resource
import signal
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from tocsin.errors import SpecError, TocsinError, UsageError
from tocsin.signals import on_signals

from ._args import DEFAULT_PORT, add_watch_arguments, watch_options
from ._say import say, say_plain
from ._watcher import Watcher
from .config import LogsConfig, load_config

__all__ = ["DEFAULT_PORT", "main", "run"]


def _lock(state_dir: Path) -> int:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir / "logwatch.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise UsageError(f"cannot use the state directory {state_dir}: {err.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError(
            f"another logwatch uses the state directory {state_dir} (stop it, or pass another --state-dir)"
        ) from None
    return fd


def _more_descriptors() -> None:
    """Raise the soft limit on open files to the hard one, as Go programs (mtail) do: a directory of
    many rotated files, each briefly open, must not fail with EMFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass


def run(
    config: LogsConfig | str | Path,
    state_dir: str | Path = ".tocsin/logwatch",
    *,
    port: int | None = DEFAULT_PORT,
    host: str = "127.0.0.1",
    once: bool = False,
    engine: str = "auto",
    rotate_wait: float = 2.0,
    park_after: float = 60.0,
    stop: threading.Event | None = None,
) -> int:
    """Follow the files of ``config`` (or of the compiled JSON config at that path) until SIGTERM/SIGINT
    (or, with ``once``, until caught up)."""
    if not isinstance(config, LogsConfig):
        config = load_config(config)
    state = Path(state_dir)
    lock_fd = _lock(state)
    _more_descriptors()
    try:
        watcher = Watcher(config, state, engine=engine, rotate_wait=rotate_wait, park_after=park_after)
        try:
            _follow(watcher, port, host, once, stop or threading.Event(), config.poll_interval)
        finally:
            watcher.close()
    finally:
        os.close(lock_fd)
    if not watcher.saved:
        raise TocsinError(
            f"the last checkpoint could not be saved in {state} ({watcher.save_error}): the lines read "
            "since the last save will be read again at the next start, nothing is lost"
        )
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
    say(f"/metrics on http://{host}:{server.server_port}/metrics")
    return server


def _follow(
    watcher: Watcher, port: int | None, host: str, once: bool, stop: threading.Event, interval: float
) -> None:
    server = _serve(watcher, port, host) if port is not None else None
    engines = ", ".join(f"{k}={v}" for k, v in watcher.engines.items())
    say(f"following {len(watcher.sources)} source(s), engines {engines}")

    if threading.current_thread() is threading.main_thread():
        on_signals(stop.set, (signal.SIGTERM, signal.SIGINT))  # never stop.set() inside a handler
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
    """``python -m tocsin.logwatch --config logwatch.json``: the watcher without the CLI."""
    parser = argparse.ArgumentParser(prog="python -m tocsin.logwatch", description="Follow log files.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    add_watch_arguments(parser, "the compiled logwatch.json (`tocsin logwatch` reads a YAML file)")
    args = parser.parse_args(argv)
    try:
        return run(args.config, args.state_dir, **watch_options(args))
    except SpecError as err:
        if args.debug:
            raise
        say_plain("\n".join(err.lines()))
        return err.exit_code
    except TocsinError as err:
        if args.debug:
            raise
        say_plain(f"tocsin: {err}")
        return err.exit_code
    except KeyboardInterrupt:
        return 130
