"""Start, watch and stop the stack's processes.

One loop in one thread: it starts every component, waits until each answers its readiness URL, then
polls the children every 50 ms, restarting a dead one with exponential backoff (50 ms, 100 ms, …, 30 s;
reset after a minute of uptime), so a ``kill -9`` of Prometheus is undone in well under two seconds.
Its state (pids with start times, restarts, status) is in ``run/state.json`` plus one pid file per process,
which is all ``tocsin status`` and ``tocsin down`` need, also for a detached supervisor::

    python -m tocsin.stack.supervisor --state-dir .tocsin     # runs run/plan.json, as `tocsin up --detach`
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.errors import StackError, TocsinError
from tocsin.stack._http import HTTPFailure, request
from tocsin.stack.components import Component, StackLayout, ensure_ports_free, read_plan
from tocsin.stack.logs import LogPump, RotatingFile, tail
from tocsin.stack.silences import SilenceKeeper
from tocsin.stack.state import ProcessRef, write_json_atomic

__all__ = ["Supervisor", "main"]

POLL_SECONDS = 0.05
# `setpriv --pdeathsig` (util-linux) sets the parent-death signal and execs the component: if the
# supervisor dies, even by SIGKILL, the kernel sends SIGTERM to every component, so a crash of the
# supervisor never leaves an unsupervised stack behind. (preexec_fn would do it in Python, but is not
# safe with the log-pump threads running.) Tied to the spawning thread, which is the serve() loop.
_SETPRIV = shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin")
FIRST_BACKOFF, MAX_BACKOFF, HEALTHY_UPTIME = 0.05, 30.0, 60.0


def _tied_to_this_thread(argv: Sequence[str]) -> list[str]:
    return [_SETPRIV, "--pdeathsig", "TERM", "--", *argv] if _SETPRIV else list(argv)


@dataclass
class _Child:
    component: Component
    log: RotatingFile
    proc: subprocess.Popen[bytes] | None = None
    ref: ProcessRef | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0
    restart_at: float | None = None
    needs_restore: bool = False
    pumps: list[LogPump] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        c = self.component
        running = self.proc is not None and self.proc.poll() is None
        return {
            "kind": c.kind,
            "port": c.port,
            "url": c.url,
            "ready_path": c.ready_path,
            "pid": self.ref.pid if running and self.ref else None,
            "create_time": self.ref.create_time if running and self.ref else None,
            "started_at": self.started_at,
            "restarts": self.restarts,
        }


class Supervisor:
    """Runs a plan of :class:`~tocsin.stack.components.Component` until told to stop."""

    def __init__(
        self, components: Sequence[Component], layout: StackLayout, options: dict[str, Any] | None = None
    ):
        self.layout = layout
        self.options = options or {}
        layout.make()
        self._children = [_Child(c, RotatingFile(layout.log(c.name))) for c in components]
        self._keeper = SilenceKeeper(layout.silences_file)
        self._status = "starting"
        self._error = ""
        self._next_keep = 0.0

    # --- state -----------------------------------------------------------------------------------------
    def _write_state(self) -> None:
        me = ProcessRef.of("supervisor", os.getpid())
        write_json_atomic(
            self.layout.state_file,
            {
                "status": self._status,
                "error": self._error,
                "supervisor": me.to_json(),
                "components": {ch.component.name: ch.to_json() for ch in self._children},
                "options": self.options,
                "updated_at": time.time(),
            },
        )
        me.write_pid_file(self.layout)

    # --- processes -------------------------------------------------------------------------------------
    def _spawn(self, child: _Child) -> None:
        c = child.component
        if c.data_dir:
            Path(c.data_dir).mkdir(parents=True, exist_ok=True)
        child.log.write(f"--- tocsin: starting {' '.join(c.argv)} at {time.strftime('%FT%T%z')}\n".encode())
        proc = subprocess.Popen(
            _tied_to_this_thread(c.argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        pump = LogPump(proc.stdout, child.log)
        pump.start()
        child.pumps = [p for p in child.pumps if p.is_alive()] + [pump]
        child.proc, child.started_at, child.restart_at = proc, time.time(), None
        child.ref = ProcessRef.of(c.name, proc.pid)
        child.ref.write_pid_file(self.layout)

    def start(self) -> None:
        """Check the ports, then start every component (all at once: readiness is awaited together)."""
        ensure_ports_free([ch.component for ch in self._children])
        for child in self._children:
            self._spawn(child)
        self._write_state()

    def _ready(self, child: _Child) -> bool:
        try:
            return request("GET", child.component.url + child.component.ready_path)[0] == 200
        except HTTPFailure:
            return False

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until every component answers its readiness URL; StackError naming the laggards if not."""
        waiting = list(self._children)
        deadline = time.monotonic() + timeout
        while waiting:
            for child in list(waiting):
                assert child.proc is not None
                code = child.proc.poll()
                if code is not None:
                    child.pumps[-1].join(timeout=1)
                    raise StackError(
                        f"{child.component.name} exited with code {code} at start; last lines of "
                        f"{child.log.path}:\n{tail(child.log.path)}"
                    )
                if self._ready(child):
                    waiting.remove(child)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(
                    f"{c.component.name} ({c.component.url}{c.component.ready_path})" for c in waiting
                )
                raise StackError(f"not ready after {timeout:.0f}s: {names} (see {self.layout.logs})")
            if waiting:
                time.sleep(0.02)

    def tick(self) -> None:
        """One round of supervision: restart the dead (after their backoff), keep silences."""
        now = time.monotonic()
        changed = False
        for child in self._children:
            proc = child.proc
            if proc is not None and proc.poll() is not None and child.restart_at is None:
                uptime = time.time() - child.started_at
                if uptime > HEALTHY_UPTIME:
                    child.failures = 0
                delay = min(FIRST_BACKOFF * 2**child.failures, MAX_BACKOFF)
                child.failures += 1
                child.restart_at = now + delay
                child.log.write(
                    f"--- tocsin: exited with code {proc.returncode} after {uptime:.1f}s;"
                    f" restarting in {delay:.2f}s\n".encode()
                )
            if child.restart_at is not None and now >= child.restart_at:
                if child.component.kind == "alertmanager":
                    self._give_back_silences(child)
                self._spawn(child)
                child.restarts += 1
                changed = True
        if changed:
            self._write_state()
        if now >= self._next_keep:
            self._next_keep = now + 1.0
            self._keep_silences()

    def _give_back_silences(self, child: _Child) -> None:
        """A lone Alertmanager starts from the supervisor's copy of its silences (ids kept)."""
        child.needs_restore = True
        peers = [
            m
            for m in self._children
            if m is not child and m.component.kind == "alertmanager" and m.proc and m.proc.poll() is None
        ]
        if not peers and child.component.data_dir:
            count = self._keeper.write_snapshot_file(Path(child.component.data_dir))
            child.log.write(f"--- tocsin: {count} silences written back to its snapshot file\n".encode())

    def _keep_silences(self) -> None:
        managers = [ch for ch in self._children if ch.component.kind == "alertmanager"]
        for child in managers:
            url = child.component.url
            try:
                if child.needs_restore:
                    if not self._ready(child):
                        continue
                    peers = [m for m in managers if m is not child and not m.needs_restore and self._ready(m)]
                    if not peers:  # a clustered peer gossips them back on its own
                        self._keeper.restore(url)
                    child.needs_restore = False
                self._keeper.snapshot(url)
            except (HTTPFailure, ValueError) as exc:
                child.log.write(f"--- tocsin: could not copy silences: {exc}\n".encode())

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM everything, SIGKILL what is left after ``timeout``; pid files removed.

        Clustered Alertmanagers go last and one at a time: one that leaves while its peer is leaving
        too waits 10 s for an acknowledgement that never comes.
        """
        self._status = "stopping"
        live = [ch for ch in self._children if ch.proc is not None and ch.proc.poll() is None]
        managers = [ch for ch in live if ch.component.kind == "alertmanager"]
        for batch in [[ch for ch in live if ch not in managers], *([m] for m in managers)]:
            self._stop_batch(batch, timeout)
        for child in self._children:
            for pump in child.pumps:
                pump.join(timeout=1)
            child.log.close()
            self.layout.pid_file(child.component.name).unlink(missing_ok=True)
        self._status = "stopped"
        self._write_state()
        self.layout.pid_file("supervisor").unlink(missing_ok=True)

    def _stop_batch(self, batch: list[_Child], timeout: float) -> None:
        started = time.monotonic()
        for child in batch:
            assert child.proc is not None
            child.proc.terminate()
        for child in batch:
            assert child.proc is not None
            try:
                code = child.proc.wait(timeout=max(0.0, started + timeout - time.monotonic()))
                note = f"stopped (exit code {code}) {time.monotonic() - started:.2f}s after SIGTERM"
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()
                note = f"still running {timeout:.0f}s after SIGTERM: killed"
            child.log.write(f"--- tocsin: {note}\n".encode())

    def serve(
        self,
        on_ready: Callable[[Supervisor], None] | None = None,
        stop: threading.Event | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        """start → wait_ready → supervise until ``stop`` is set (SIGINT/SIGTERM set it) → stop."""
        stop = stop or threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        try:
            try:
                self.start()
                self.wait_ready(ready_timeout)
            except TocsinError as exc:
                self._status, self._error = "failed", str(exc)
                raise
            self._status = "ready"
            self._write_state()
            if on_ready is not None:  # in its own thread: printing the targets must not pause supervision
                threading.Thread(target=on_ready, args=(self,), name="on-ready", daemon=True).start()
            while not stop.wait(POLL_SECONDS):
                self.tick()
        finally:
            error = self._error
            self.stop()
            if error:
                self._status, self._error = "failed", error
                self._write_state()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """The detached supervisor: runs ``run/plan.json`` of a state dir (``tocsin up --detach`` starts this)."""
    parser = argparse.ArgumentParser(prog="python -m tocsin.stack.supervisor")
    parser.add_argument("--state-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    layout = StackLayout(args.state_dir.resolve())
    components, options = read_plan(layout)
    try:
        Supervisor(components, layout, options).serve()
    except TocsinError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
