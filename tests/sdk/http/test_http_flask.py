"""Flask (WSGI) instrumentation against a real werkzeug server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from flask import Blueprint, Flask, Response, stream_with_context
from http_servers import werkzeug_server
from tests.conftest import wait_for

from tocsin.sdk.http import PrometheusWSGIMiddleware, instrument_flask
from tocsin.sdk.metrics import Metrics
from tocsin.testing import fresh_metrics, sample_value, samples

pytestmark = pytest.mark.integration

STREAM_CHUNK_PAUSE = 0.06


def flask_app(release: threading.Event, entered: threading.Event) -> Flask:
    app = Flask(__name__)

    @app.get("/books/<int:book_id>")
    def book(book_id: int) -> str:
        return str(book_id)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[str]:
            for i in range(4):
                time.sleep(STREAM_CHUNK_PAUSE)
                yield f"chunk {i}\n"

        return Response(stream_with_context(chunks()))

    @app.get("/stream-fails")
    def stream_fails() -> Response:
        def chunks() -> Iterator[str]:
            yield "first\n"
            raise RuntimeError("half-way")

        return Response(chunks())

    @app.get("/slow")
    def slow() -> str:
        entered.set()
        release.wait(10)
        return "slow"

    @app.get("/metrics")
    def metrics() -> str:
        return "not measured"

    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.get("/users/<name>")
    def user(name: str) -> str:
        return name

    shop = Blueprint("shop", __name__)

    @shop.get("/carts/<uuid:cart_id>")
    def cart(cart_id: object) -> str:
        return str(cart_id)

    app.register_blueprint(admin)
    app.register_blueprint(shop, url_prefix="/shop")
    return app


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    with fresh_metrics() as m:
        yield m


def _count(m: Metrics, route: str, status: str) -> float | None:
    return sample_value(m, "http_requests_total", {"method": "GET", "route": route, "status": status})


def test_flask_rules_blueprints_errors_streaming_and_exclusions(metrics: Metrics) -> None:
    app = flask_app(threading.Event(), threading.Event())
    instrument_flask(app)
    cases = [
        ("/books/12", "/books/<int:book_id>", 200),
        ("/admin/users/ann", "/admin/users/<name>", 200),
        ("/shop/carts/6f1c2a8e-8a3a-4d0e-9a55-0b5c1d2e3f40", "/shop/carts/<uuid:cart_id>", 200),
        ("/books/not-a-number", "<unmatched>", 404),
        ("/nowhere", "<unmatched>", 404),
        ("/boom", "/boom", 500),
    ]
    with werkzeug_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        for path, _, status in cases:
            assert client.get(path).status_code == status, path
        started = time.perf_counter()
        assert client.get("/stream").text.count("chunk") == 4
        client_seconds = time.perf_counter() - started
        with pytest.raises(httpx.HTTPError):  # the server cuts the broken body short
            client.get("/stream-fails")
        assert client.get("/metrics").status_code == 200
    for path, route, status in cases:
        assert _count(metrics, route, str(status)) is not None, path
    assert _count(metrics, "<unmatched>", "404") == 2
    assert _count(metrics, "/stream-fails", "500") == 1
    stream_seconds = sample_value(metrics, "http_request_duration_seconds_sum", {"route": "/stream"})
    assert (
        stream_seconds is not None and 4 * STREAM_CHUNK_PAUSE <= stream_seconds <= client_seconds + 0.5
    )  # the server closes after the client has it all
    routes = {labels["route"] for labels, _ in samples(metrics, "http_requests_total")}
    assert routes == {route for _, route, _ in cases} | {"/stream", "/stream-fails"}
    assert all(v == 0 for _, v in samples(metrics, "http_requests_in_progress"))


def test_flask_in_progress_while_the_view_runs(metrics: Metrics) -> None:
    release, entered = threading.Event(), threading.Event()
    app = flask_app(release, entered)
    instrument_flask(app)
    with werkzeug_server(app) as url:
        result: list[int] = []
        thread = threading.Thread(
            target=lambda: result.append(httpx.get(url + "/slow", timeout=10).status_code)
        )
        thread.start()
        try:
            assert entered.wait(10)
            wait_for(lambda: sample_value(metrics, "http_requests_in_progress", {"route": "/slow"}) == 1)
        finally:
            release.set()
            thread.join(10)
    assert result == [200]
    assert sample_value(metrics, "http_requests_in_progress", {"route": "/slow"}) == 0


def test_propagated_exceptions_count_as_500(metrics: Metrics) -> None:
    app = flask_app(threading.Event(), threading.Event())
    app.config["PROPAGATE_EXCEPTIONS"] = True
    middleware = instrument_flask(app)
    assert isinstance(middleware, PrometheusWSGIMiddleware)
    with pytest.raises(RuntimeError, match="boom"):
        app.test_client().get("/boom")
    assert _count(metrics, "/boom", "500") == 1


def test_a_405_keeps_the_rule_of_its_path(metrics: Metrics) -> None:
    app = flask_app(threading.Event(), threading.Event())

    @app.route("/orders/<int:order_id>", methods=["PUT", "DELETE"])
    def order(order_id: int) -> str:
        return str(order_id)

    instrument_flask(app)
    client = app.test_client()
    cases = [
        ("POST", "/books/12", "/books/<int:book_id>"),
        ("DELETE", "/admin/users/ann", "/admin/users/<name>"),
        ("PATCH", "/shop/carts/6f1c2a8e-8a3a-4d0e-9a55-0b5c1d2e3f40", "/shop/carts/<uuid:cart_id>"),
        ("GET", "/orders/3", "/orders/<int:order_id>"),
    ]
    requests = [*((m, p, 405) for m, p, _ in cases), ("POST", "/nowhere", 404), ("PUT", "/orders/x", 404)]
    for method, path, status in requests:  # /orders/x: the converter refuses it, no rule
        with client.open(path, method=method) as response:  # closed: the request ends
            assert response.status_code == status, (method, path)
    got = {
        (labels["method"], labels["route"], labels["status"])
        for labels, _ in samples(metrics, "http_requests_total")
    }
    assert got == {(m, route, "405") for m, _, route in cases} | {
        ("POST", "<unmatched>", "404"),
        ("PUT", "<unmatched>", "404"),
    }


def create_app(registry: object, identity: str = "microblog", **options: object) -> Flask:
    """An app factory as Flask's tutorial and microblog write it: configure, then instrument."""
    from tocsin.sdk import metrics as tmetrics

    tmetrics.configure(app=identity, registry=registry, **options)  # type: ignore[arg-type]
    app = Flask(__name__)

    @app.get("/posts/<int:post_id>")
    def post(post_id: int) -> str:
        return str(post_id)

    instrument_flask(app)
    return app


def test_an_app_factory_builds_one_app_per_test_on_one_registry() -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    with fresh_metrics():  # configure() swaps the process default: restore it afterwards
        apps = [create_app(registry) for _ in range(4)]
        apps.append(create_app(registry, identity="microblog", version="2"))  # target_info follows
        for n, app in enumerate(apps):
            with app.test_client().get(f"/posts/{n}") as response:
                assert response.status_code == 200
    labels = {"method": "GET", "route": "/posts/<int:post_id>", "status": "200"}
    assert sample_value(registry, "http_requests_total", labels) == 5
    assert sample_value(registry, "target_info", {"app": "microblog", "version": "2"}) == 1


def test_a_second_identity_on_stamped_series_says_what_to_do() -> None:
    from prometheus_client import CollectorRegistry

    from tocsin.errors import ConfigurationError

    registry = CollectorRegistry()
    with fresh_metrics():
        create_app(registry, identity="first", constant_labels=True)
        with pytest.raises(ConfigurationError, match=r"another identity.*own registry=CollectorRegistry\(\)"):
            create_app(registry, identity="second", constant_labels=True)
