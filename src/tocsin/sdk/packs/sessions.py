"""Active users and sessions over a sliding window, and session durations (seeds 002, 004).

::

    from tocsin.sdk.packs import Sessions

    sessions = Sessions(window=300)                  # "active" = seen in the last 5 minutes
    sessions.seen(session_id, user_id)               # on each request / rerun
    sessions.ended(session_id)                       # logout (else: when idle past the window)

    # Streamlit, at the top of the script (seed 004):
    from tocsin.sdk.packs import track_session
    track_session(sessions)

Metrics (no namespace by default; ``namespace="coaching"`` gives seed 004's
``coaching_sessions_total``): ``active_sessions`` and ``active_users`` (gauges
computed at scrape: distinct ids seen within ``window`` seconds),
``sessions_total`` (sessions started) and ``session_duration_seconds``
(histogram, 10 s to 8 h: first to last activity, recorded when a session ends
or goes idle past the window). At most ``max_tracked`` sessions are followed
(the oldest idle one is dropped first), so memory stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics
from ._buckets import SESSION_BUCKETS

__all__ = ["Sessions", "track_session"]


class _Active(Collector):
    def __init__(self, sessions: Sessions, names: tuple[str, str]) -> None:
        self._sessions = sessions
        self._names = names

    def describe(self) -> Iterable[Any]:
        return [GaugeMetricFamily(n, "") for n in self._names]

    def collect(self) -> Iterable[Any]:
        active_sessions, active_users = self._sessions.active()
        window = self._sessions.window
        return [
            GaugeMetricFamily(
                self._names[0], f"Sessions active in the last {window:g} s.", value=active_sessions
            ),
            GaugeMetricFamily(
                self._names[1], f"Distinct users active in the last {window:g} s.", value=active_users
            ),
        ]


class Sessions:
    """Sessions and users seen recently (see the module docstring)."""

    def __init__(
        self,
        *,
        window: float = 300.0,
        max_tracked: int = 100_000,
        namespace: str = "",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window <= 0 or max_tracked <= 0:
            raise ValueError("Sessions needs window > 0 and max_tracked > 0")
        pack = PackMetrics(namespace, metrics, registry)
        self.window = window
        self.max_tracked = max_tracked
        self._clock = clock
        self.started = pack.counter("sessions_total", "Sessions started.")
        self.duration = pack.histogram(
            "session_duration_seconds", "Session length, first to last activity.", buckets=SESSION_BUCKETS
        )
        # session id -> [first seen, last seen, user]; ordered by last activity (oldest first)
        self._sessions: OrderedDict[str, list[Any]] = OrderedDict()
        self._users: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self.collector = _Active(self, (pack.name("active_sessions"), pack.name("active_users")))
        pack.registry.register(self.collector)

    def seen(self, session_id: str, user_id: str | None = None) -> None:
        """Activity in ``session_id`` (of ``user_id``); the first time, a session starts."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            entry = self._sessions.get(session_id)
            if entry is None:
                self._sessions[session_id] = [now, now, user_id]
                self.started.inc()
                while len(self._sessions) > self.max_tracked:
                    self._end(self._sessions.popitem(last=False)[1])
            else:
                entry[1] = now
                if user_id is not None:
                    entry[2] = user_id
                self._sessions.move_to_end(session_id)
            if user_id is not None:
                self._users[user_id] = now
                self._users.move_to_end(user_id)
                while len(self._users) > self.max_tracked:
                    self._users.popitem(last=False)

    def ended(self, session_id: str) -> None:
        """``session_id`` ended (logout, tab closed): its duration is recorded now."""
        with self._lock:
            entry = self._sessions.pop(session_id, None)
            if entry is not None:
                self._end(entry)

    def active(self) -> tuple[int, int]:
        """(sessions, users) active within the window; idle sessions end now."""
        with self._lock:
            self._expire(self._clock())
            return len(self._sessions), len(self._users)

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._sessions:
            session_id, entry = next(iter(self._sessions.items()))
            if entry[1] >= horizon:
                break
            del self._sessions[session_id]
            self._end(entry)
        while self._users:
            user_id, last = next(iter(self._users.items()))
            if last >= horizon:
                break
            del self._users[user_id]

    def _end(self, entry: list[Any]) -> None:
        self.duration.observe(entry[1] - entry[0])


def track_session(sessions: Sessions, user_id: str | None = None) -> str | None:
    """Mark the current Streamlit session active (call it at the top of the script, every rerun).

    Uses Streamlit's own session id; returns it, or ``None`` outside a Streamlit run.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    sessions.seen(ctx.session_id, user_id)
    return str(ctx.session_id)
