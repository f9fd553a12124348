"""The jobs pack: a run's counts, outcome, duration and last success; pushed to a real Pushgateway."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry
from tests.conftest import free_port, wait_for
from tests.packs.conftest import Process, scrape

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Jobs, PushError, Pushgateway, job_run
from tocsin.testing import sample_value


def test_a_run_records_counts_outcome_and_last_run_gauges(metrics: Metrics) -> None:
    jobs = Jobs(items="orders", done="archived")
    with jobs.run("archiver") as run:
        run.found(150)
        run.done(140)
        run.duplicates(6)
        run.incomplete(3)
        run.errors(1)
    with jobs.run("archiver") as run:
        run.found(10)
        run.done(10)
    value = lambda name, **labels: sample_value(metrics, name, {"job_name": "archiver", **labels})  # noqa: E731
    assert value("orders_found_total") == 160
    assert value("orders_archived_total") == 150
    assert value("orders_errors_total") == 1
    # the last-run gauges hold the second run only
    assert value("orders_found_last_run") == 10
    assert value("orders_archived_last_run") == 10
    assert value("orders_errors_last_run") == 0
    assert value("job_runs_total", outcome="success") == 2
    assert value("job_duration_seconds_count", outcome="success") == 2
    assert value("job_last_success_timestamp_seconds") > 1.7e9
    assert value("job_last_duration_seconds") >= 0


def test_an_exception_or_fail_ends_the_run_in_error(metrics: Metrics) -> None:
    jobs = Jobs()
    with pytest.raises(RuntimeError), jobs.run("nightly"):
        raise RuntimeError("db down")
    with jobs.run("nightly") as run:
        run.fail()
    assert sample_value(metrics, "job_runs_total", {"job_name": "nightly", "outcome": "error"}) == 2
    assert sample_value(metrics, "job_last_success_timestamp_seconds", {"job_name": "nightly"}) is None
    assert sample_value(metrics, "job_last_run_timestamp_seconds", {"job_name": "nightly"}) > 1.7e9


def test_durations_of_hours_land_in_their_own_buckets(metrics: Metrics) -> None:
    jobs = Jobs()
    jobs.duration.labels("long", "success").observe(2 * 3600 + 1)
    assert sample_value(metrics, "job_duration_seconds_bucket", {"job_name": "long", "le": "7200.0"}) == 0
    assert sample_value(metrics, "job_duration_seconds_bucket", {"job_name": "long", "le": "10800.0"}) == 1


def test_job_run_uses_one_jobs_per_metrics_factory(metrics: Metrics) -> None:
    with job_run("a") as run:
        run.done(2)
    with job_run("a") as run:
        run.done(1)
    assert sample_value(metrics, "items_processed_total", {"job_name": "a"}) == 3
    with pytest.raises(ValueError, match="other names"):
        job_run("a", items="orders")


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="items"):
        Jobs(items="orders found")


@pytest.mark.integration
def test_push_replaces_the_group_and_delete_removes_it(pushgateway: Process) -> None:
    registry = CollectorRegistry()
    jobs = Jobs(items="orders", done="archived", metrics=Metrics(registry=registry))
    gateway = Pushgateway(pushgateway.url, job="archiver")
    with jobs.run("archiver", push=gateway) as run:
        run.found(5)
        run.done(5)
    samples = scrape(pushgateway.url + "/metrics")
    key = ("orders_archived_last_run", (("instance", ""), ("job", "archiver"), ("job_name", "archiver")))
    assert samples[key] == 5
    assert any(name == "push_time_seconds" and dict(labels)["job"] == "archiver" for name, labels in samples)
    gateway.delete()  # the Pushgateway answers 202 and deletes a moment later

    def gone() -> bool:
        return not any(
            dict(labels).get("job") == "archiver" for _, labels in scrape(pushgateway.url + "/metrics")
        )

    wait_for(gone, 10, what="the group deleted")


@pytest.mark.integration
def test_push_retries_until_the_gateway_is_up(pushgateway_factory: Callable[[int], Process]) -> None:
    port = free_port()
    registry = CollectorRegistry()
    jobs = Jobs(metrics=Metrics(registry=registry))
    waits: list[float] = []

    def sleep_then_start(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            pushgateway_factory(port)

    gateway = Pushgateway(f"127.0.0.1:{port}", job="cron", backoff=0.01, sleep=sleep_then_start)
    with jobs.run("cron", push=gateway, push_errors="raise") as run:
        run.done()
    assert waits == [0.01, 0.02]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'items_processed_last_run{instance="",job="cron",job_name="cron"} 1' in text


@pytest.mark.integration
def test_a_gateway_that_stays_down_raises_after_the_retries() -> None:
    gateway = Pushgateway(f"127.0.0.1:{free_port()}", job="cron", retries=2, sleep=lambda s: None)
    with pytest.raises(PushError, match="after 3 attempts"):
        gateway.push(CollectorRegistry())


@pytest.mark.integration
def test_a_refused_push_is_not_retried_and_says_why(pushgateway: Process) -> None:
    as_counter, as_gauge = CollectorRegistry(), CollectorRegistry()
    Metrics(registry=as_counter).counter("clash_total", "a counter").inc()
    Metrics(registry=as_gauge).gauge("clash_total", "the same name as a gauge").set(1)
    Pushgateway(pushgateway.url, job="first").push(as_counter)
    attempts: list[float] = []
    gateway = Pushgateway(pushgateway.url, job="second", sleep=attempts.append)
    with pytest.raises(PushError, match="HTTP 400"):
        gateway.push(as_gauge)
    assert attempts == []


@pytest.mark.integration
def test_a_failed_push_is_logged_and_the_run_still_counts(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    jobs = Jobs(metrics=Metrics(registry=registry))
    gateway = Pushgateway(f"127.0.0.1:{free_port()}", job="cron", retries=0)
    with jobs.run("cron", push=gateway) as run:
        run.done()
    assert "pushing its metrics failed" in caplog.text
    assert registry.get_sample_value("job_runs_total", {"job_name": "cron", "outcome": "success"}) == 1


@pytest.mark.integration
def test_grouping_keys_keep_shards_apart_and_delete_only_theirs(pushgateway: Process) -> None:
    for shard, count in (("eu", 3), ("us", 5)):
        registry = CollectorRegistry()
        jobs = Jobs(metrics=Metrics(registry=registry))
        gateway = Pushgateway(pushgateway.url, job="archiver", grouping_key={"shard": shard})
        with jobs.run("archiver", push=gateway, push_errors="raise") as run:
            run.done(count)
    samples = scrape(pushgateway.url + "/metrics")
    last_run = {
        dict(labels)["shard"]: v
        for (name, labels), v in samples.items()
        if name == "items_processed_last_run" and dict(labels)["job"] == "archiver"
    }
    assert last_run == {"eu": 3, "us": 5}
    Pushgateway(pushgateway.url, job="archiver", grouping_key={"shard": "eu"}).delete()

    def shards_left() -> set[str]:
        return {
            dict(labels)["shard"]
            for (name, labels), _ in scrape(pushgateway.url + "/metrics").items()
            if name == "items_processed_last_run" and dict(labels)["job"] == "archiver"
        }

    wait_for(lambda: shards_left() == {"us"}, 10, what="only the eu group deleted (202, applied later)")
    with pytest.raises(ValueError, match="job="):
        Pushgateway(pushgateway.url, job="x", grouping_key={"job": "y"})
