"""The shared core: label rules, and the fast path agreeing with prometheus_client's own API."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry

from tocsin.errors import ConfigurationError
from tocsin.sdk.http import OTHER_METHOD, RequestMetrics
from tocsin.sdk.metrics import Metrics
from tocsin.testing import sample_value, samples


def test_recording_matches_prometheus_client_observe() -> None:
    ours = RequestMetrics(Metrics(registry=CollectorRegistry()), buckets=(0.005, 0.1, 1.0))
    reference = prometheus_client.Histogram(
        "http_request_duration_seconds", "ref", ["method", "route"], buckets=(0.005, 0.1, 1.0),
        registry=CollectorRegistry(),
    )  # fmt: skip
    series = ours.series("GET", "/a")
    for seconds in (0.0, 0.005, 0.0051, 0.1, 0.5, 1.0, 1.5, 100.0):
        series.record(200, seconds)
        reference.labels("GET", "/a").observe(seconds)
    expected = {
        (s.name, s.labels.get("le")): s.value
        for f in reference.collect()
        for s in f.samples
        if "created" not in s.name
    }
    for (name, le), value in expected.items():
        labels = {"route": "/a"} | ({"le": le} if le else {})
        assert sample_value(ours.duration._tocsin_registry, name, labels) == pytest.approx(value), (name, le)
    assert sample_value(ours.duration._tocsin_registry, "http_requests_total", {"status": "200"}) == 8


def test_statuses_methods_and_in_progress() -> None:
    metrics = Metrics(registry=CollectorRegistry())
    core = RequestMetrics(metrics)
    core.series("GET", "/a").record(404, 0.01)
    core.series("GET", "/a").record("404", 0.01)  # WSGI gives the status as text: same series
    assert sample_value(metrics, "http_requests_total", {"status": "404"}) == 2
    assert core.series("BREW", "/a") is core.series("other", "/a")
    assert core.series("BREW", "/a").method == OTHER_METHOD
    series = core.series("POST", "/b")
    series.enter()
    series.enter()
    series.leave()
    assert sample_value(metrics, "http_requests_in_progress", {"method": "POST", "route": "/b"}) == 1


def test_series_cap_folds_routes_into_overflow() -> None:
    metrics = Metrics(registry=CollectorRegistry(), max_series=5)
    core = RequestMetrics(metrics)
    for i in range(20):
        core.series("GET", f"/r{i}").record(200, 0.01)
    assert len(samples(metrics, "http_requests_total")) == 5 + 1  # the cap, and the overflow series
    assert sample_value(metrics, "http_requests_total", {"route": "overflow"}) == 15
    dropped = sample_value(metrics, "tocsin_series_dropped_total", {"metric": "http_requests_total"})
    assert dropped is not None and dropped >= 15


def test_exemplars_true_without_a_span_records_none_and_false_disables() -> None:
    registry = CollectorRegistry()
    core = RequestMetrics(Metrics(registry=registry), exemplars=True)
    core.series("GET", "/a").record(200, 0.01)
    assert all(s.exemplar is None for f in registry.collect() for s in f.samples)
    assert RequestMetrics(Metrics(registry=CollectorRegistry()), exemplars=False)._exemplar is None


def test_conflicting_metric_is_a_configuration_error() -> None:
    metrics = Metrics(registry=CollectorRegistry())
    metrics.counter("http_requests_total", "someone else's", ["path"])
    with pytest.raises(ConfigurationError, match="http_requests_total"):
        RequestMetrics(metrics)


def test_multiprocess_cells_are_written_through_their_own_api(tmp_path: Path) -> None:
    """Under PROMETHEUS_MULTIPROC_DIR the cells are mmap-backed, not MutexValues: the fast path
    must not write their ``_value`` directly (chosen at prometheus_client import: a subprocess)."""
    code = textwrap.dedent("""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        from tocsin.sdk.http import RequestMetrics
        from tocsin.sdk.metrics import Metrics

        series = RequestMetrics(Metrics(registry=CollectorRegistry())).series("GET", "/a")
        for seconds in (0.001, 0.2, 3.0):
            series.record(200, seconds)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        print(generate_latest(merged).decode())
    """)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert 'http_requests_total{method="GET",route="/a",status="200"} 3.0' in out.stdout
    assert 'http_request_duration_seconds_sum{method="GET",route="/a"} 3.201' in out.stdout
    assert 'http_request_duration_seconds_bucket{le="0.25",method="GET",route="/a"} 2.0' in out.stdout
