"""Domain packs: the seeds' business metrics as ready instrumentation, one import each.

::

    from tocsin.sdk.packs import Cache, Jobs, Queue, Stream, serve

Each pack is a class whose constructor creates its metrics (on the
process-wide :class:`~tocsin.sdk.metrics.Metrics` unless given ``metrics=``),
named ``<prefix>_<namespace>_<name>`` so the seed plans' PromQL runs unchanged,
and whose methods are the hot calls. The spec's ``packs:`` section adds the
matching alerts and dashboard panels (``docs/packs/``).

============  =====================================  ============================================
pack          class(es)                              integrations
============  =====================================  ============================================
jobs          :class:`Jobs`, :func:`job_run`         :class:`Pushgateway`, :func:`serve`
stream        :class:`Stream`                        NATS JetStream / AMQP timestamps, :func:`serve`
queue         :class:`Queue`
cache         :class:`Cache`                         :class:`RedisCache`, :class:`AsyncRedisCache`
etl           :class:`Etl`
anomaly       :class:`Analytics`
llm           :class:`LLM`, :class:`Price`           :func:`instrument_openai` (sync, async, streams)
websocket     :class:`WebSockets`                    :class:`WebSocketMetricsMiddleware` (ASGI)
security      :class:`Security`                      Django login signals, PyJWT errors
db            :class:`Database`                      SQLAlchemy engines, Django ``execute_wrappers``
client        :class:`HttpClient`                    httpx (sync + async) transports, requests adapter
sessions      :class:`Sessions`                      :func:`track_session` (Streamlit)
frontend      :class:`Frontend`                      JS beacon + ASGI / WSGI / Django endpoint
============  =====================================  ============================================

Importing this package imports prometheus_client and the standard library only;
each integration imports its framework or driver when first used.
"""

from __future__ import annotations

from ._openai import instrument_openai
from ._push import PushError, Pushgateway
from ._redis import AsyncRedisCache, RedisCache
from ._worker import WorkerServer, serve
from .anomaly import Analytics
from .cache import Cache
from .client import HttpClient
from .db import Database
from .etl import Etl
from .frontend import Frontend
from .jobs import JobRun, Jobs, job_run
from .llm import LLM, LLMCall, Price
from .queue import Queue, Task
from .security import Security
from .sessions import Sessions, track_session
from .stream import Stream, StreamEvent
from .websocket import WebSocketMetricsMiddleware, WebSockets

__all__ = [
    "LLM",
    "Analytics",
    "AsyncRedisCache",
    "Cache",
    "Database",
    "Etl",
    "Frontend",
    "HttpClient",
    "JobRun",
    "Jobs",
    "LLMCall",
    "Price",
    "PushError",
    "Pushgateway",
    "Queue",
    "RedisCache",
    "Security",
    "Sessions",
    "Stream",
    "StreamEvent",
    "Task",
    "WebSocketMetricsMiddleware",
    "WebSockets",
    "WorkerServer",
    "instrument_openai",
    "job_run",
    "serve",
    "track_session",
]
