"""Is a running component still answering? One probing thread per component.

A live pid is not a working component: a SIGSTOPped or deadlocked Prometheus keeps its pid and its port
(the kernel even accepts connections for it) while answering nothing. Each component's liveness URL
(``/-/healthy`` for the Prometheus projects, which answers from the moment the web server listens, also
during a long WAL replay) is probed every ``period`` with a ``timeout``; the supervisor restarts one that
failed ``failures`` probes in a row. A process that has not answered once since it started gets
``grace`` seconds before failures count, so a slow start is not taken for a hang.

Probes run in their own threads so that a hung component never delays the supervision of the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tocsin.stack._http import HTTPFailure, request

__all__ = ["Health", "Liveness", "Prober"]


@dataclass(frozen=True)
class Liveness:
    """How hard the supervisor looks: a SIGSTOPped component is restarted within about
    ``failures × (period + timeout) + stop_grace`` seconds (≈ 11 s with the defaults)."""

    period: float = 1.0
    timeout: float = 2.0
    failures: int = 3
    grace: float = 60.0
    #: SIGTERM (with SIGCONT) to SIGKILL for a process found hung
    stop_grace: float = 2.0


@dataclass(frozen=True)
class Health:
    """The latest probe results for one process (``pid``); replaced whole, never mutated."""

    pid: int | None = None
    answered: bool = False
    failures: int = 0
    error: str = ""
    checked_at: float = 0.0


class Prober(threading.Thread):
    """Probes ``urls`` for the process ``pid()`` says is current; results in :attr:`health`.

    A process that serves several components (the console hosting the receiver) has one URL each: it
    answers only when every one of them does.
    """

    def __init__(
        self,
        name: str,
        urls: Sequence[str],
        pid: Callable[[], int | None],
        liveness: Liveness,
        stop: threading.Event,
        *,
        ready_pid: int | None = None,
    ) -> None:
        """``ready_pid``: a process that already passed its readiness check (no start grace for it)."""
        super().__init__(daemon=True, name=f"probe:{name}")
        self._urls, self._pid, self._liveness, self._stop = tuple(urls), pid, liveness, stop
        self.health = Health(ready_pid, answered=True) if ready_pid else Health()
        self._spawned: dict[int, float] = {}

    def run(self) -> None:
        while not self._stop.wait(self._liveness.period):
            pid = self._pid()
            if pid is None:
                continue
            self.health = self._probe(pid)

    def _probe(self, pid: int) -> Health:
        now = time.monotonic()
        last = self.health if self.health.pid == pid else Health(pid, checked_at=now)
        first_seen = self._spawned.setdefault(pid, now)
        error = next(filter(None, map(self._fails, self._urls)), "")
        if self._pid() != pid:  # restarted while we waited: this result is about the old process
            return self.health
        if not error:
            return Health(pid, True, 0, "", time.monotonic())
        counts = last.answered or now - first_seen > self._liveness.grace
        return Health(pid, last.answered, last.failures + counts, error, time.monotonic())

    def _fails(self, url: str) -> str:
        """'' when ``url`` answers, else why not."""
        try:
            status, _ = request("GET", url, timeout=self._liveness.timeout)
        except HTTPFailure as exc:
            return str(exc)
        return "" if status < 500 else f"GET {url}: HTTP {status}"
