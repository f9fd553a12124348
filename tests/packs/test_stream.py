"""The stream pack as a real NATS JetStream consumer, served by serve() with a health check."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import nats
import pytest
from nats.js.api import StreamConfig
from prometheus_client import CollectorRegistry

from tocsin.sdk.health import Health, checks
from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Stream, serve
from tocsin.testing import sample_value

NATS_URL = "nats://127.0.0.1:4222"


@pytest.mark.integration
def test_a_jetstream_consumer_records_lag_processing_and_errors() -> None:
    registry = CollectorRegistry()
    factory = Metrics(registry=registry)
    stream = Stream(namespace="change_stream", metrics=factory)
    name = f"TOCSIN_{uuid.uuid4().hex[:10].upper()}"
    subject = f"tocsin.test.{name.lower()}"
    health = Health(ready=[checks.tcp("nats", "127.0.0.1", 4222)], metrics=factory)

    async def scenario() -> None:
        client = await nats.connect(NATS_URL)
        js = client.jetstream()
        await js.add_stream(StreamConfig(name=name, subjects=[subject]))
        try:
            for i in range(5):
                await js.publish(subject, f"order-{i}".encode())
            subscription = await js.pull_subscribe(subject, durable=f"archiver-{name.lower()}")
            stream.connected()
            handled = 0
            while handled < 5:
                for message in await subscription.fetch(5, timeout=5):
                    try:
                        with stream.processing(event_time=message.metadata.timestamp):
                            if message.data == b"order-3":
                                raise ValueError("incomplete order")
                            stream.archived()
                    except ValueError:
                        pass
                    stream.resume_token_saved()
                    await message.ack()
                    handled += 1
        finally:
            await js.delete_stream(name)
            await client.close()

    with serve(0, health=health, registry=registry) as server:
        asyncio.run(scenario())
        assert httpx.get(server.base_url + "/health/ready", timeout=5).status_code == 200
        page = httpx.get(server.url, timeout=5).text
    assert 'change_stream_events_processed_total{outcome="success"} 4.0' in page
    assert 'change_stream_events_processed_total{outcome="error"} 1.0' in page
    assert "change_stream_events_archived_total 4.0" in page
    lag = registry.get_sample_value("change_stream_lag_seconds")
    assert lag is not None and 0 <= lag < 30
    assert registry.get_sample_value("change_stream_processing_duration_seconds_count") == 5
    assert registry.get_sample_value("change_stream_resume_token_age_seconds") < 30
    assert registry.get_sample_value("change_stream_uptime_seconds") > 0


@pytest.mark.integration
def test_a_lost_connection_counts_through_the_client_callback(metrics: Metrics) -> None:
    stream = Stream()

    async def scenario() -> None:
        async def on_disconnect() -> None:
            stream.connection_error()

        client = await nats.connect(NATS_URL, disconnected_cb=on_disconnect, connect_timeout=2)
        stream.connected()
        await client.close()  # the callback runs as for a lost connection

    asyncio.run(asyncio.wait_for(scenario(), 20))
    assert sample_value(metrics, "stream_connection_errors_total") == 1


def test_lag_from_datetimes_and_unix_timestamps(metrics: Metrics) -> None:
    stream = Stream()
    stream.event(datetime.now(UTC) - timedelta(seconds=12))
    assert 12 <= sample_value(metrics, "stream_lag_seconds") < 20
    stream.event(time.time() - 3)  # an AMQP timestamp property
    assert 3 <= sample_value(metrics, "stream_lag_seconds") < 10
    with pytest.raises(ValueError, match="timezone-aware"):
        stream.event(datetime.now())
    assert sample_value(metrics, "stream_resume_token_age_seconds") == 0
    before = sample_value(metrics, "stream_last_heartbeat_timestamp_seconds")
    stream.heartbeat()
    assert sample_value(metrics, "stream_last_heartbeat_timestamp_seconds") >= before
