"""Start, watch and stop the stack's processes.

One loop in one thread: it locks the state dir, starts every component, waits until each answers its
readiness URL, then every 50 ms

- restarts a dead child with exponential backoff (50 ms, 100 ms, …, 30 s; reset after a minute of
  uptime), so a ``kill -9`` of Prometheus is undone in well under two seconds;
- restarts a child that stopped answering its liveness URL (SIGSTOPped, deadlocked: see
  :mod:`~tocsin.stack._liveness`): SIGTERM and SIGCONT, SIGKILL if it is still there 2 s later;
- stops the whole stack when its state dir is gone (``rm -rf .tocsin``): its TSDB, configs and logs
  went with it, and a later ``up`` must find the ports free;
- writes back ``run/`` when only that was deleted, and touches ``run/state.json`` every second (the
  heartbeat ``tocsin status`` reads).

Its state (pids with start times, health, restarts, status) is in ``run/state.json`` plus one pid file
per process, which is all ``tocsin status`` and ``tocsin down`` need, also for a detached supervisor::

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
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tocsin.errors import StackError, TocsinError
from tocsin.signals import on_signals
from tocsin.stack._http import HTTPFailure, request
from tocsin.stack._liveness import Liveness, Prober
from tocsin.stack._portcheck import ensure_ports_free, explain_bind_failure
from tocsin.stack.components import Component, StackLayout, read_plan
from tocsin.stack.lock import StateLock
from tocsin.stack.logs import LogPump, RotatingFile, tail
from tocsin.stack.silences import SilenceKeeper
from tocsin.stack.state import MARKER, NAME_MARKER, ProcessRef, explain_os_error, write_json_atomic

__all__ = ["Liveness", "Supervisor", "main"]

POLL_SECONDS = 0.05
HOUSEKEEPING_SECONDS = 1.0
#: how long run/ must stay missing before the supervisor writes it back
RUN_REWRITE_AFTER = 2.0
# `setpriv --pdeathsig` (util-linux) sets the parent-death signal and execs the component: if the
# supervisor dies, even by SIGKILL, the kernel sends SIGTERM to every component, so a crash of the
# supervisor never leaves an unsupervised stack behind. (preexec_fn would do it in Python, but is not
# safe with the log-pump threads running.) Tied to the spawning thread, which is the serve() loop.
_SETPRIV = shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin")
FIRST_BACKOFF, MAX_BACKOFF, HEALTHY_UPTIME = 0.05, 30.0, 60.0


def _say(message: str) -> None:
    """A line on stderr (the supervisor's log when detached), which may be on the full disk itself."""
    try:
        print(f"tocsin supervisor: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _tied_to_this_thread(argv: Sequence[str]) -> list[str]:
    return [_SETPRIV, "--pdeathsig", "TERM", "--", *argv] if _SETPRIV else list(argv)


@dataclass
class _Child:
    component: Component
    log: RotatingFile
    #: components its process serves besides its own (the receiver in the console), each with its log
    hosted: tuple[tuple[Component, RotatingFile], ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    ref: ProcessRef | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0
    restart_at: float | None = None
    kill_at: float | None = None
    last_exit: str = ""
    needs_restore: bool = False
    pumps: list[LogPump] = field(default_factory=list)
    prober: Prober | None = None

    def running_pid(self) -> int | None:
        proc = self.proc
        return proc.pid if proc is not None and proc.poll() is None and self.kill_at is None else None

    def state(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            return "restarting" if self.restart_at is not None else "stopped"
        if self.kill_at is not None:
            return "hung"
        health = self.prober.health if self.prober else None
        if health is None or health.pid != self.proc.pid or not health.answered:
            return "starting"
        return "up" if health.failures == 0 else "not answering"

    @property
    def served(self) -> tuple[Component, ...]:
        """Every component this process serves: its own first, then the hosted ones."""
        return (self.component, *(c for c, _ in self.hosted))

    def to_json(self, c: Component | None = None) -> dict[str, Any]:
        """The state entry of its own component, or of ``c``, one it hosts (same process, same state)."""
        c = c or self.component
        running = self.proc is not None and self.proc.poll() is None
        health = self.prober.health if self.prober else None
        return {
            "kind": c.kind,
            "port": c.port,
            "url": c.url,
            "ready_path": c.ready_path,
            "health_path": c.health_path,
            "pid": self.ref.pid if running and self.ref else None,
            "create_time": self.ref.create_time if running and self.ref else None,
            "started_at": self.started_at,
            "restarts": self.restarts,
            "state": self.state(),
            "last_exit": self.last_exit,
            "probe_error": health.error if health and health.failures else "",
            "hosted_by": c.hosted_by,
        }


class Supervisor:
    """Runs a plan of :class:`~tocsin.stack.components.Component` until told to stop.

    ``lock`` is the state dir's lock when the caller took it (``tocsin up``); otherwise :meth:`start`
    takes it, and a StackError says so if another stack holds it.
    """

    def __init__(
        self,
        components: Sequence[Component],
        layout: StackLayout,
        options: dict[str, Any] | None = None,
        *,
        lock: StateLock | None = None,
        liveness: Liveness | None = None,
    ):
        self.layout = layout
        self.options = options or {}
        self.liveness = liveness or Liveness()
        self._lock = lock
        self._components = list(components)
        self._children: list[_Child] = []
        self._keeper = SilenceKeeper(layout.silences_file)
        self._status = "starting"
        self._error = ""
        self._next_keep = self._next_house = 0.0
        self._last_states: list[str] = []
        self._probes_stop = threading.Event()
        self._write_failed = ""
        self._own_lock = False
        self._run_missing_since: float | None = None
        self._has_config = False
        #: set when the state dir vanished under the running stack
        self.gone = False

    # --- state -----------------------------------------------------------------------------------------
    def _write_state(self) -> None:
        """state.json and the pid files; a full or read-only disk is reported once, never fatal."""
        me = ProcessRef.of("supervisor", os.getpid())
        try:
            write_json_atomic(
                self.layout.state_file,
                {
                    "status": self._status,
                    "error": self._error,
                    "supervisor": me.to_json(),
                    "components": self._entries(),
                    "options": self.options,
                    "updated_at": time.time(),
                },
                parents=False,
            )
            me.write_pid_file(self.layout, parents=False)
            for child in self._children:
                if child.ref is not None and child.proc is not None and child.proc.poll() is None:
                    child.ref.write_pid_file(self.layout, parents=False)
                    for hosted, _ in child.hosted:  # `down` finds the process under either name
                        ref = ProcessRef(hosted.name, child.ref.pid, child.ref.create_time)
                        ref.write_pid_file(self.layout, parents=False)
        except OSError as exc:
            message = explain_os_error(exc, "cannot write the stack's state")
            if message != self._write_failed:
                _say(message)
            self._write_failed = message
        else:
            self._write_failed = ""
        self._last_states = [ch.state() for ch in self._children]

    def _entries(self) -> dict[str, dict[str, Any]]:
        """One state entry per component, in plan order; a hosted one shares its host's process."""
        owner = {c.name: (ch, c) for ch in self._children for c in ch.served}
        return {
            c.name: owner[c.name][0].to_json(owner[c.name][1]) for c in self._components if c.name in owner
        }

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
            env={**os.environ, **c.env, MARKER: str(self.layout.root), NAME_MARKER: c.name},
        )
        assert proc.stdout is not None
        pump = LogPump(proc.stdout, child.log)
        pump.start()
        child.pumps = [p for p in child.pumps if p.is_alive()] + [pump]
        child.proc, child.started_at, child.restart_at, child.kill_at = proc, time.time(), None, None
        child.ref = ProcessRef.of(c.name, proc.pid)
        for _, log in child.hosted:
            log.write(
                f"--- tocsin: served by {c.name} (pid {proc.pid}) from {time.strftime('%FT%T%z')}\n".encode()
            )

    def start(self) -> None:
        """Lock the state dir, check the ports, then start every component (readiness is awaited together)."""
        if self._lock is None:
            self._lock = StateLock.acquire(self.layout)
            self._own_lock = True
        try:
            self.layout.make()
            self._children = [
                _Child(
                    c,
                    RotatingFile(self.layout.log(c.name)),
                    tuple(
                        (h, RotatingFile(self.layout.log(h.name)))
                        for h in self._components
                        if h.hosted_by == c.name
                    ),
                )
                for c in self._components
                if not c.hosted_by
            ]
        except OSError as exc:
            raise StackError(explain_os_error(exc, "cannot prepare the state dir")) from None
        orphans = {c.name for c in self._components if c.hosted_by} - {
            c.name for ch in self._children for c, _ in ch.hosted
        }
        if orphans:  # a hand-written plan: nothing would serve them
            raise StackError(f"no component of the plan hosts {', '.join(sorted(orphans))}")
        ensure_ports_free(self._components)
        self._has_config = os.path.lexists(self.layout.current)
        for child in self._children:
            self._spawn(child)
        self._write_state()

    @staticmethod
    def _answers(c: Component) -> bool:
        try:
            return request("GET", c.url + c.ready_path)[0] == 200
        except HTTPFailure:
            return False

    def _ready(self, child: _Child) -> bool:
        """Its process is ready when every component it serves answers its readiness URL."""
        return all(self._answers(c) for c in child.served)

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
                    last = tail(child.log.path)
                    raise StackError(
                        explain_bind_failure(child.served, last)
                        or f"{child.component.name} exited with code {code} at start; last lines of "
                        f"{child.log.path}:\n{last}"
                    )
                if self._ready(child):
                    waiting.remove(child)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(
                    f"{c.name} ({c.url}{c.ready_path})"
                    for child in waiting
                    for c in child.served
                    if not self._answers(c)
                )
                raise StackError(f"not ready after {timeout:.0f}s: {names} (see {self.layout.logs})")
            if waiting:
                time.sleep(0.02)

    def _start_probes(self) -> None:
        for child in self._children:
            urls = [c.url + c.health_path for c in child.served]  # a hung receiver restarts its host
            child.prober = Prober(
                child.component.name,
                urls,
                child.running_pid,
                self.liveness,
                self._probes_stop,
                ready_pid=child.running_pid(),
            )
            child.prober.start()

    def tick(self) -> None:
        """One round of supervision: the state dir, the hung, the dead (after their backoff), silences."""
        now = time.monotonic()
        if self._wiped():
            self.gone = True
            return
        for child in self._children:
            self._watch(child, now)
        if now >= self._next_house:
            self._next_house = now + HOUSEKEEPING_SECONDS
            self._housekeeping(now)
        elif [ch.state() for ch in self._children] != self._last_states:
            self._write_state()
        if now >= self._next_keep:
            self._next_keep = now + 1.0
            self._keep_silences()

    def _watch(self, child: _Child, now: float) -> None:
        proc = child.proc
        if proc is None:
            return
        alive = proc.poll() is None
        health = child.prober.health if child.prober else None
        if alive and child.kill_at is None and health and health.pid == proc.pid:
            if health.failures >= self.liveness.failures:
                child.log.write(
                    f"--- tocsin: {health.failures} liveness probes failed ({health.error}); "
                    f"restarting it\n".encode()
                )
                child.last_exit = f"not answering {child.component.health_path}: {health.error}"
                for sig in (
                    signal.SIGTERM,
                    signal.SIGCONT,
                ):  # a stopped process handles SIGTERM once continued
                    proc.send_signal(sig)
                child.kill_at = now + self.liveness.stop_grace
        elif alive and child.kill_at is not None and now >= child.kill_at:
            proc.kill()
        if not alive and child.restart_at is None:
            uptime = time.time() - child.started_at
            if uptime > HEALTHY_UPTIME:
                child.failures = 0
            delay = min(FIRST_BACKOFF * 2**child.failures, MAX_BACKOFF)
            child.failures += 1
            child.restart_at = now + delay
            if child.kill_at is None:
                child.last_exit = f"exited with code {proc.returncode} after {uptime:.1f}s"
            child.log.write(f"--- tocsin: {child.last_exit}; restarting in {delay:.2f}s\n".encode())
        if child.restart_at is not None and now >= child.restart_at:
            if child.component.kind == "alertmanager":
                self._give_back_silences(child)
            try:
                self._spawn(child)
            except OSError as exc:  # binary removed, no memory for fork, disk full for its data dir
                delay = min(FIRST_BACKOFF * 2**child.failures, MAX_BACKOFF)
                child.failures += 1
                child.restart_at = now + delay
                child.last_exit = f"could not start: {exc}"
                child.log.write(f"--- tocsin: {child.last_exit}; retrying in {delay:.2f}s\n".encode())
                return
            child.restarts += 1
            self._write_state()

    def _wiped(self) -> bool:
        """The state dir is gone, replaced, or being deleted (its active config went: nothing could
        restart a component any more)."""
        if self._lock is None:
            return False
        return not self._lock.intact() or (self._has_config and not os.path.lexists(self.layout.current))

    def _crashed(self, exc: Exception) -> str:
        """Record an unexpected error of the supervisor itself (traceback in logs/supervisor.log)."""
        log = self.layout.log("supervisor")
        try:
            with log.open("a", encoding="utf-8") as out:
                out.write(f"--- tocsin: the supervisor failed at {time.strftime('%FT%T%z')}\n")
                out.write(traceback.format_exc())
        except OSError:
            pass
        self._status = "failed"
        self._error = (
            f"the supervisor failed: {type(exc).__name__}: {exc} (traceback in {log}); stopped the stack"
        )
        return self._error

    def _housekeeping(self, now: float) -> None:
        """Heartbeat; the state files written again if they were lost, ``run/`` itself only once it has
        stayed missing for a while (an ``rm -rf`` of the whole dir takes ``config/`` with it first,
        and must not find a ``run/`` we just brought back)."""
        if not self.layout.run.is_dir():
            if self._run_missing_since is None:
                self._run_missing_since = now
                return
            if now - self._run_missing_since < RUN_REWRITE_AFTER:
                return
            try:
                self.layout.run.mkdir()
            except OSError:
                return
        self._run_missing_since = None
        try:
            os.utime(self.layout.state_file)
            lost = not self.layout.pid_file("supervisor").exists()
        except OSError:
            lost = True
        if lost or self._write_failed:
            self._write_state()

    def _give_back_silences(self, child: _Child) -> None:
        """A lone Alertmanager starts from the supervisor's copy of its silences (ids kept)."""
        child.needs_restore = True
        peers = [
            m
            for m in self._children
            if m is not child and m.component.kind == "alertmanager" and m.proc and m.proc.poll() is None
        ]
        if not peers and child.component.data_dir:
            try:
                count = self._keeper.write_snapshot_file(Path(child.component.data_dir))
            except OSError as exc:
                child.log.write(f"--- tocsin: could not write its silences back: {exc}\n".encode())
                return
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
            except (OSError, ValueError) as exc:
                child.log.write(f"--- tocsin: could not copy silences: {exc}\n".encode())

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM everything, SIGKILL what is left after ``timeout``; pid files removed.

        Clustered Alertmanagers go last and one at a time: one that leaves while its peer is leaving
        too waits 10 s for an acknowledgement that never comes.
        """
        if self._lock is None:  # never started: the state dir may be another stack's
            return
        self._status = "stopping"
        self._probes_stop.set()
        live = [ch for ch in self._children if ch.proc is not None and ch.proc.poll() is None]
        managers = [ch for ch in live if ch.component.kind == "alertmanager"]
        for batch in [[ch for ch in live if ch not in managers], *([m] for m in managers)]:
            self._stop_batch(batch, timeout)
        for child in self._children:
            for pump in child.pumps:
                pump.join(timeout=1)
            child.log.close()
            for _, log in child.hosted:
                log.close()
        self._status = "failed" if self._error else "stopped"
        if not self.gone and not self._wiped():  # never write into a state dir that is no longer ours
            self._write_state()
            for name in [*(c.name for c in self._components), "supervisor"]:
                try:
                    self.layout.pid_file(name).unlink(missing_ok=True)
                except OSError:
                    pass
        if self._own_lock:
            self._lock.release()
            self._lock, self._own_lock = None, False

    def _stop_batch(self, batch: list[_Child], timeout: float) -> None:
        started = time.monotonic()
        for child in batch:
            assert child.proc is not None
            child.proc.terminate()
            child.proc.send_signal(signal.SIGCONT)
        for child in batch:
            assert child.proc is not None
            try:
                code = child.proc.wait(timeout=max(0.0, started + timeout - time.monotonic()))
                note = f"stopped (exit code {code}) {time.monotonic() - started:.2f}s after SIGTERM"
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()
                note = f"still running {timeout:.0f}s after SIGTERM: killed"
            for log in (child.log, *(log for _, log in child.hosted)):
                log.write(f"--- tocsin: {note}\n".encode())

    def serve(
        self,
        on_ready: Callable[[Supervisor], None] | None = None,
        stop: threading.Event | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        """start → wait_ready → supervise until ``stop`` is set (SIGINT/SIGTERM set it) → stop.

        StackError after the stack stopped on its own because its state dir vanished.
        """
        stop = stop or threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = on_signals(stop.set, (signal.SIGINT, signal.SIGTERM))  # never stop.set() in a handler
        try:
            try:
                self.start()
                self.wait_ready(ready_timeout)
            except TocsinError as exc:
                self._status, self._error = "failed", str(exc)
                raise
            self._status = "ready"
            self._start_probes()
            self._write_state()
            if on_ready is not None:  # in its own thread: printing the targets must not pause supervision
                threading.Thread(target=on_ready, args=(self,), name="on-ready", daemon=True).start()
            while not stop.wait(POLL_SECONDS) and not self.gone:
                try:
                    self.tick()
                except Exception as exc:  # a bug of ours: stop the stack cleanly, say where the details are
                    raise StackError(self._crashed(exc)) from exc
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.gone:
            raise StackError(f"{self.layout.root}: the state dir was removed while the stack ran; stopped it")


def main(argv: Sequence[str] | None = None) -> int:
    """The detached supervisor: runs ``run/plan.json`` of a state dir (``tocsin up --detach`` starts this)."""
    parser = argparse.ArgumentParser(prog="python -m tocsin.stack.supervisor")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--lock-fd", type=int, help="the state dir's lock, held by `tocsin up` for us")
    args = parser.parse_args(argv)
    layout = StackLayout(args.state_dir.resolve())
    try:
        lock = StateLock.inherited(layout, args.lock_fd) if args.lock_fd is not None else None
        components, options = read_plan(layout)
        Supervisor(components, layout, options, lock=lock).serve()
    except TocsinError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return exc.exit_code
    except (OSError, ValueError, KeyError) as exc:
        print(f"tocsin: cannot run the plan in {layout.plan_file}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
