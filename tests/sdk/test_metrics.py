from __future__ import annotations

import asyncio
import time

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tocsin.errors import ConfigurationError
from tocsin.sdk import metrics
from tocsin.sdk.metrics import Identity, Metrics
from tocsin.testing import fresh_metrics, sample_value, samples


def make(**kw: object) -> Metrics:
    return Metrics(
        Identity(app="kpi-system", version="1.0.0", environment="test", instance="host-1"),
        registry=CollectorRegistry(),
        **kw,
    )  # type: ignore[arg-type]


def test_identity_goes_to_target_info_by_default() -> None:
    m = make(prefix="kpi")
    c = m.counter("etl_records_total", "records", ["model"])
    c.labels("marketing").inc(3)
    assert sample_value(m, "target_info", {"app": "kpi-system", "version": "1.0.0"}) == 1
    assert sample_value(m, "kpi_etl_records_total", {"model": "marketing"}) == 3
    # the series itself stays small
    [(labels, _)] = samples(m, "kpi_etl_records_total")
    assert labels == {"model": "marketing"}


def test_constant_labels_stamp_every_series() -> None:
    m = make(prefix="kpi_", constant_labels=True)
    h = m.histogram("etl_batch_seconds", "batch", buckets=(0.1, 1))
    h.observe(0.5)
    text = generate_latest(m.registry).decode()
    assert (
        'kpi_etl_batch_seconds_bucket{app="kpi-system",environment="test",'
        'instance="host-1",le="1.0",version="1.0.0"} 1.0' in text
    )
    for labels, _ in samples(m, "kpi_etl_batch_seconds_count"):
        assert labels["app"] == "kpi-system" and labels["instance"] == "host-1"


def test_constant_label_clash_is_an_error() -> None:
    m = make(constant_labels=True)
    with pytest.raises(ConfigurationError, match="clash"):
        m.counter("x_total", "x", ["app"])


def test_prefix_not_doubled_and_validated() -> None:
    m = make(prefix="kpi")
    assert m.name("kpi_x") == "kpi_x"
    assert m.name("x") == "kpi_x"
    with pytest.raises(ConfigurationError, match="prefix"):
        make(prefix="9bad")


def test_factories_are_get_or_create() -> None:
    m = make()
    a = m.counter("jobs_total", "jobs", ["status"])
    assert m.counter("jobs_total", "jobs", ["status"]) is a
    with pytest.raises(ConfigurationError, match="already exists"):
        m.gauge("jobs_total", "jobs", ["status"])
    with pytest.raises(ConfigurationError, match="already exists"):
        m.counter("jobs_total", "jobs", ["other"])


def test_invalid_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="metric 'bad-name'"):
        make().gauge("bad-name", "x")


def test_clear_unregisters() -> None:
    m = make()
    m.counter("a_total", "a").inc()
    m.clear()
    assert samples(m, "a_total") == []
    m.counter("a_total", "a")  # can be made again


def test_series_cap_folds_into_overflow_and_counts() -> None:
    m = make(max_series=3)
    c = m.counter("req_total", "r", ["path"])
    for i in range(10):
        c.labels(f"/p{i}").inc()
    c.labels(path="/p0").inc()  # an existing series still works by keyword
    series = samples(m, "req_total")
    assert len(series) == 4  # three real ones + overflow
    assert sample_value(m, "req_total", {"path": "overflow"}) == 7
    assert sample_value(m, "req_total", {"path": "/p0"}) == 2
    assert sample_value(m, "tocsin_series_dropped_total", {"metric": "req_total"}) == 7


def test_cap_keeps_usual_label_errors() -> None:
    c = make(max_series=1).counter("e_total", "e", ["a", "b"])
    c.labels("x", "y")
    with pytest.raises(ValueError, match="Incorrect label"):
        c.labels("only-one")
    with pytest.raises(ValueError, match="Incorrect label"):
        c.labels(a="x", c="y")


def test_cap_zero_disables() -> None:
    c = make(max_series=0).counter("n_total", "n", ["k"])
    for i in range(50):
        c.labels(str(i)).inc()
    assert len(samples(c._tocsin_registry, "n_total")) == 50  # type: ignore[attr-defined]


def test_timed_async_records_real_duration() -> None:
    m = make()
    h = m.histogram("work_seconds", "w", ["outcome"])

    @metrics.timed(h, outcome_label="outcome")
    async def work() -> str:
        await asyncio.sleep(0.05)
        return "done"

    assert asyncio.run(work()) == "done"
    total = sample_value(m, "work_seconds_sum", {"outcome": "success"})
    assert total is not None and total >= 0.05
    # prometheus_client's own .time() on an async def records the coroutine creation only:
    plain = prometheus_client.Histogram("plain_seconds", "p", registry=m.registry)
    asyncio.run(plain.time()(work)())  # type: ignore[arg-type]
    assert (sample_value(m, "plain_seconds_sum") or 0) < 0.05


def test_timed_sync_error_outcome_and_context_manager() -> None:
    m = make()
    h = m.histogram("op_seconds", "op", ["step", "outcome"])

    @metrics.timed(h, labels={"step": "load"}, outcome_label="outcome")
    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert sample_value(m, "op_seconds_count", {"step": "load", "outcome": "error"}) == 1
    with metrics.timed(h, labels={"step": "save"}, outcome_label="outcome") as t:
        time.sleep(0.01)
    assert t.elapsed is not None and t.elapsed >= 0.01
    assert sample_value(m, "op_seconds_count", {"step": "save", "outcome": "success"}) == 1


def test_timed_async_context_manager_and_gauge() -> None:
    m = make()
    g = m.gauge("last_run_seconds", "last")

    async def main() -> None:
        async with metrics.timed(g):
            await asyncio.sleep(0.02)

    asyncio.run(main())
    assert (sample_value(m, "last_run_seconds") or 0) >= 0.02


def test_timed_label_mismatch() -> None:
    h = make().histogram("x_seconds", "x", ["a"])
    with pytest.raises(ConfigurationError, match="has labels"):
        metrics.timed(h)


def test_configure_after_default_use_is_refused() -> None:
    with fresh_metrics():
        from tocsin.sdk.metrics._config import _reset_default

        _reset_default(None)
        metrics.counter("early_total", "made before configure()", registry=CollectorRegistry())
        with pytest.raises(ConfigurationError, match="configure\\(\\) was called after"):
            metrics.configure(app="late")


def test_configure_sets_default(tocsin_metrics: Metrics) -> None:
    reg = CollectorRegistry()
    m = metrics.configure(app="ebook", version="2", environment="prod", registry=reg, prefix="ebook")
    assert metrics.get_metrics() is m
    metrics.counter("downloads_total", "d").inc()
    assert sample_value(reg, "ebook_downloads_total") == 1
    metrics.clear_metrics()
    assert sample_value(reg, "ebook_downloads_total") is None


def test_fixture_isolates(tocsin_metrics: Metrics) -> None:
    metrics.counter("iso_total", "i").inc()
    assert sample_value(tocsin_metrics, "iso_total") == 1
    assert prometheus_client.REGISTRY.get_sample_value("iso_total") is None
