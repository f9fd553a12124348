"""Change-stream and message consumers (seed 003's watch mode; NATS JetStream, RabbitMQ, Kafka...).

::

    from tocsin.sdk.packs import Stream, serve

    stream = Stream(namespace="change_stream")      # seed 003's change_stream_lag_seconds
    server = serve(9464, health=health)             # /metrics + /health for the worker

    stream.connected()
    async for msg in subscription.messages:
        with stream.processing(event_time=msg.metadata.timestamp):   # lag, duration, processed
            archive(msg)
            stream.archived()
        stream.resume_token_saved()
        await msg.ack()
    # on a lost connection: stream.connection_error(); on an idle loop: stream.heartbeat()

Metrics (namespace ``stream``): ``events_processed_total{outcome}``
(``success`` / ``error``), ``events_archived_total``, ``lag_seconds`` (gauge:
now minus the last event's own timestamp), ``processing_duration_seconds``
(histogram, 10 ms to 2 min), ``connection_errors_total``,
``resume_token_age_seconds`` (seconds since the resume token / offset was
last saved, read at scrape), ``uptime_seconds`` (since :meth:`Stream.connected`),
``last_heartbeat_timestamp_seconds`` and ``last_event_timestamp_seconds``.
Every event and :meth:`Stream.heartbeat` beat the heart; the spec's stream pack
alerts on lag > 10 s / 30 s, more than 3 connection errors in 10 min, a token
older than 1 h and a heartbeat older than 5 min (the ``TargetDown`` alert of
the worker's service covers a dead process).

``event_time`` may be a ``datetime`` (NATS ``msg.metadata.timestamp``,
MongoDB's ``clusterTime.as_datetime()``), a Unix timestamp in seconds (an AMQP
``timestamp`` property) or ``None``.
"""

from __future__ import annotations

import time
from datetime import datetime
from types import TracebackType

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics
from ._buckets import TASK_BUCKETS

__all__ = ["EventTime", "Stream", "StreamEvent"]

EventTime = datetime | float | int | None
_perf_counter = time.perf_counter


def _unix(event_time: EventTime) -> float | None:
    if event_time is None:
        return None
    if isinstance(event_time, datetime):
        if event_time.tzinfo is None:
            raise ValueError("event_time must be timezone-aware (a naive datetime has no instant)")
        return event_time.timestamp()
    return float(event_time)


class Stream:
    """The metrics of one stream consumer (see the module docstring)."""

    def __init__(
        self,
        *,
        namespace: str = "stream",
        buckets: tuple[float, ...] = TASK_BUCKETS,
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.processed = pack.counter("events_processed_total", "Events handled, by outcome.", ["outcome"])
        self.archived_total = pack.counter("events_archived_total", "Events whose work was stored.")
        self.lag = pack.gauge("lag_seconds", "Now minus the timestamp of the last event handled.")
        self.duration = pack.histogram(
            "processing_duration_seconds", "Time to handle one event.", buckets=buckets
        )
        self.connection_errors = pack.counter("connection_errors_total", "Connections to the source lost.")
        self.token_age = pack.gauge("resume_token_age_seconds", "Seconds since the resume token was saved.")
        self.uptime = pack.gauge("uptime_seconds", "Seconds since the consumer connected.")
        self.last_heartbeat = pack.gauge(
            "last_heartbeat_timestamp_seconds", "Unix time the consumer loop last showed it was alive."
        )
        self.last_event = pack.gauge("last_event_timestamp_seconds", "Unix time the last event was handled.")
        self._success = self.processed.labels("success")
        self._error = self.processed.labels("error")
        self.archived = self.archived_total.inc
        self.connection_error = self.connection_errors.inc
        self._token_saved: float | None = None
        self._connected: float | None = None
        self.token_age.set_function(self._token_age)
        self.uptime.set_function(self._uptime)

    def _token_age(self) -> float:
        return time.time() - self._token_saved if self._token_saved is not None else 0.0

    def _uptime(self) -> float:
        return time.monotonic() - self._connected if self._connected is not None else 0.0

    def connected(self) -> None:
        """The consumer (re)connected: uptime counts from now."""
        self._connected = time.monotonic()
        self.heartbeat()

    def heartbeat(self) -> None:
        """The loop is alive (call it on idle timeouts too, so a quiet stream is not a dead one)."""
        self.last_heartbeat.set(time.time())

    def resume_token_saved(self) -> None:
        """The resume token (or committed offset) was persisted now."""
        self._token_saved = time.time()

    def event(self, event_time: EventTime = None, *, seconds: float | None = None, ok: bool = True) -> None:
        """One event handled: ``event_time`` gives the lag, ``seconds`` the handling time."""
        now = time.time()
        (self._success if ok else self._error).inc()
        stamp = _unix(event_time)
        if stamp is not None:
            self.lag.set(max(0.0, now - stamp))
        if seconds is not None:
            self.duration.observe(seconds)
        self.last_event.set(now)
        self.last_heartbeat.set(now)

    def processing(self, event_time: EventTime = None) -> StreamEvent:
        """A context manager around one event: duration, lag, ``error`` when an exception escapes."""
        return StreamEvent(self, event_time)


class StreamEvent:
    """One event being handled (see :meth:`Stream.processing`)."""

    __slots__ = ("_event_time", "_started", "_stream")

    def __init__(self, stream: Stream, event_time: EventTime) -> None:
        self._stream = stream
        self._event_time = event_time
        self._started = 0.0

    def __enter__(self) -> StreamEvent:
        self._started = _perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stream.event(self._event_time, seconds=_perf_counter() - self._started, ok=exc_type is None)

    async def __aenter__(self) -> StreamEvent:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)
