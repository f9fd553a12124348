"""The app of the gunicorn acceptance test: counts requests, serves the merged metrics on /metrics."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from tocsin.sdk.exposition import make_wsgi_app
from tocsin.sdk.health import Health, checks
from tocsin.sdk.metrics import Identity, Metrics

m = Metrics(
    Identity(app="mp-test", version="1.2.3", environment="test", instance="host-a"),
    prefix="mp",
    constant_labels=True,
)
requests = m.counter("requests_total", "Requests served", ["route"])
latency = m.histogram("request_duration_seconds", "Time to answer", ["route"], buckets=(0.001, 0.01, 0.1))
live_workers = m.gauge("workers", "Workers alive", multiprocess_mode="livesum")
live_workers.set(1)

# No probe ever reaches /health here: the scrapes alone keep the gauge current. The database is
# "down" while the file named by MP_TEST_DATABASE_DOWN exists.
down_flag = os.environ.get("MP_TEST_DATABASE_DOWN", "")
health = Health(
    [checks.custom("database", lambda: not (down_flag and os.path.exists(down_flag)))],
    live=[],
    cache_ttl=0,
    refresh_min_interval=0,
    metrics=m,
)

metrics_page = make_wsgi_app()
work_requests = requests.labels("/work")
work_latency = latency.labels("/work")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/metrics":
        return metrics_page(environ, start_response)
    with work_latency.time():
        work_requests.inc()
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
