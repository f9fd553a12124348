"""``namespace=``: the ``http`` of the names, so seed 004's ``django_request_duration_seconds`` holds."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from tocsin.errors import ConfigurationError
from tocsin.sdk.http import PrometheusMiddleware, RequestMetrics
from tocsin.sdk.metrics import Metrics
from tocsin.testing import sample_value


def _names(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


def test_default_names_are_unchanged() -> None:
    registry = CollectorRegistry()
    RequestMetrics(Metrics(registry=registry))
    assert {"http_requests", "http_request_duration_seconds", "http_requests_in_progress"} <= _names(registry)


def test_an_empty_namespace_under_a_prefix_gives_the_seed_names() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(prefix="django", registry=registry)
    core = RequestMetrics(metrics, namespace="")
    core.series("GET", "api/v1/plans").record(200, 0.3)
    assert sample_value(metrics, "django_requests_total", {"route": "api/v1/plans", "status": "200"}) == 1
    bucket = {"route": "api/v1/plans", "le": "0.5"}
    assert sample_value(metrics, "django_request_duration_seconds_bucket", bucket) == 1
    assert not any(name.startswith("django_http_") for name in _names(registry))


def test_adapters_pass_the_option_on() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry=registry)
    app = Starlette(routes=[Route("/items/{id}", lambda request: PlainTextResponse("ok"))])
    app.add_middleware(PrometheusMiddleware, metrics=metrics, namespace="web")
    with TestClient(app) as client:
        assert client.get("/items/3").status_code == 200
    assert sample_value(metrics, "web_requests_total", {"route": "/items/{id}", "status": "200"}) == 1


@pytest.mark.parametrize("bad", ["9http", "ht-tp", "é", "a b"])
def test_a_namespace_no_metric_name_can_start_with_is_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="namespace"):
        RequestMetrics(Metrics(registry=CollectorRegistry()), namespace=bad)
