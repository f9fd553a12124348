"""configure(): one JSON pipeline for structlog and stdlib, outputs per level, the level counter, reset."""

from __future__ import annotations

import io
import logging
import time
from datetime import datetime
from pathlib import Path

import pytest
from logging_helpers import json_lines

from tocsin.errors import ConfigurationError
from tocsin.sdk import logging as tlog
from tocsin.sdk.metrics import Metrics
from tocsin.testing import capture_logs, sample_value


class Collect(logging.Handler):
    """An alert destination that keeps what it receives (as an SMTP or webhook handler would send it)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_json_lines_carry_the_required_fields(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    tlog.configure("production", "INFO", "ebook", stream=stream)
    tlog.get_logger("web.auth").info("login_success", user_id=42)
    logging.getLogger("urllib3.connectionpool").warning("retrying %s (%d)", "host", 3)
    logging.getLogger("web.auth").debug("filtered out")
    first, second = json_lines(stream.getvalue())
    for line in (first, second):
        assert set(line) >= {"timestamp", "level", "logger", "event", "service", "environment"}
        assert datetime.fromisoformat(line["timestamp"]).utcoffset() is not None  # ISO 8601, UTC
        assert (line["service"], line["environment"]) == ("ebook", "production")
    assert (first["level"], first["logger"], first["event"], first["user_id"]) == (
        "info",
        "web.auth",
        "login_success",
        42,
    )
    # a library's stdlib logger comes out as the same JSON
    assert (second["level"], second["logger"], second["event"]) == (
        "warning",
        "urllib3.connectionpool",
        "retrying host (3)",
    )


def test_exactly_one_line_per_event_with_exceptions(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    tlog.configure("production", "INFO", stream=stream)
    try:
        {}["missing"]
    except KeyError:
        tlog.get_logger("app").exception("lookup_failed", key="missing")
        logging.getLogger("lib").exception("library failed")
        logging.getLogger("lib").error("with exc_info", exc_info=True)
    lines = json_lines(stream.getvalue())
    assert [line["event"] for line in lines] == ["lookup_failed", "library failed", "with exc_info"]
    for line in lines:
        assert line["level"] == "error"
        assert line["exception"].startswith("Traceback (most recent call last):")
        assert line["exception"].endswith("KeyError: 'missing'")


def test_development_renders_for_people(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    tlog.configure("development", "DEBUG", stream=stream)
    tlog.get_logger("app").debug("cache_warmed", entries=10)
    text = stream.getvalue()
    assert "cache_warmed" in text and "entries=10" in text
    assert not text.lstrip().startswith("{")


def test_seed_003_destinations_and_the_level_counter(
    tmp_path: Path, stream: io.StringIO, tocsin_metrics: Metrics
) -> None:
    alert = Collect()
    tlog.configure(
        "production",
        "DEBUG",
        "order-archiver",
        stream=stream,
        console_level="INFO",
        file=tlog.LogFile(tmp_path / "logs" / "archiver.log", level="DEBUG"),
        alert_handler=alert,
        alert_level="WARNING",
    )
    log = tlog.get_logger("batch_archiver")
    log.debug("query_plan", index="status_1")
    log.info("orders_found", count=150)
    log.warning("order_incomplete", order_id="A1")
    log.error("mongo_connection_failed")
    in_file = [line["event"] for line in json_lines((tmp_path / "logs" / "archiver.log").read_text())]
    on_console = [line["event"] for line in json_lines(stream.getvalue())]
    alerted = [line["event"] for line in json_lines("\n".join(alert.lines))]
    assert in_file == ["query_plan", "orders_found", "order_incomplete", "mongo_connection_failed"]
    assert on_console == ["orders_found", "order_incomplete", "mongo_connection_failed"]
    assert alerted == ["order_incomplete", "mongo_connection_failed"]
    # counted once per event, not once per destination
    for level in ("debug", "info", "warning", "error"):
        assert (
            sample_value(tocsin_metrics, "log_messages_total", {"level": level, "logger": "batch_archiver"})
            == 1
        )


def test_size_rotation(tmp_path: Path, tocsin_metrics: Metrics) -> None:
    path = tmp_path / "app.log"
    tlog.configure("production", "INFO", console=False, file=tlog.LogFile(path, max_bytes=2000, backups=2))
    log = tlog.get_logger("app")
    for i in range(100):
        log.info("line", i=i, padding="x" * 40)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["app.log", "app.log.1", "app.log.2"]
    for name in files:
        lines = json_lines((tmp_path / name).read_text())
        assert lines and all(line["event"] == "line" for line in lines)
        assert (tmp_path / name).stat().st_size <= 2000
    assert json_lines(path.read_text())[-1]["i"] == 99


def test_time_rotation(tmp_path: Path, tocsin_metrics: Metrics) -> None:
    path = tmp_path / "app.log"
    tlog.configure(
        "production", "INFO", console=False, file=tlog.LogFile(path, when="S", interval=1, backups=3)
    )
    log = tlog.get_logger("app")
    deadline = time.monotonic() + 5
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        log.info("tick")
        time.sleep(0.05)
    rotated = [p for p in tmp_path.iterdir() if p.name != "app.log"]
    assert rotated, "no time-based rollover within 5 s"
    assert all(line["event"] == "tick" for line in json_lines(rotated[0].read_text()))


def test_configuration_errors(tmp_path: Path, tocsin_metrics: Metrics) -> None:
    with pytest.raises(ConfigurationError, match="unknown log level"):
        tlog.configure(level="LOUD")
    with pytest.raises(ConfigurationError, match="not both"):
        tlog.configure(file=tlog.LogFile(tmp_path / "x.log", max_bytes=10, when="midnight"))


def test_logger_levels_and_reset(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level
    tlog.configure("production", "INFO", stream=stream, logger_levels={"noisy.lib": "ERROR"})
    logging.getLogger("noisy.lib").warning("hidden")
    logging.getLogger("noisy.lib").error("shown")
    assert [line["event"] for line in json_lines(stream.getvalue())] == ["shown"]
    tlog.reset()
    assert (root.handlers, root.level) == (handlers_before, level_before)
    assert logging.getLogger("noisy.lib").level == logging.NOTSET
    assert not tlog.is_configured()


def test_a_logger_cached_before_reconfiguration_follows_it(tocsin_metrics: Metrics) -> None:
    first, second = io.StringIO(), io.StringIO()
    tlog.configure("production", "INFO", "one", stream=first)
    log = tlog.get_logger("app")
    log.info("a")  # cached now
    tlog.configure("production", "INFO", "two", stream=second)
    log.info("b")
    assert [(x["event"], x["service"]) for x in json_lines(first.getvalue())] == [("a", "one")]
    assert [(x["event"], x["service"]) for x in json_lines(second.getvalue())] == [("b", "two")]


def test_opentelemetry_trace_and_span_ids(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    tlog.configure("production", "INFO", stream=stream)
    log = tlog.get_logger("app")
    log.info("outside")
    with tracer.start_as_current_span("work") as span:
        log.info("inside")
        logging.getLogger("lib").info("stdlib inside")
    context = span.get_span_context()
    outside, inside, stdlib_inside = json_lines(stream.getvalue())
    assert "trace_id" not in outside
    for line in (inside, stdlib_inside):
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")


def test_capture_logs(tocsin_metrics: Metrics) -> None:
    with capture_logs() as events:
        tlog.get_logger("app").info("created", order=1)
        logging.getLogger("lib").warning("slow")
    assert [(e["event"], e["level"], e["logger"]) for e in events] == [
        ("created", "info", "app"),
        ("slow", "warning", "lib"),
    ]
    assert events[0]["order"] == 1 and "timestamp" in events[0]
    assert not tlog.is_configured()  # configured for the block only
    tlog.configure("production", "INFO", console=False)
    with capture_logs("WARNING") as events:
        tlog.get_logger("app").info("not captured")
        tlog.get_logger("app").error("captured")
    assert [e["event"] for e in events] == ["captured"]
    assert tlog.is_configured()


def test_a_foreign_handler_sees_structlog_events_and_counts_stay_single(
    stream: io.StringIO, tocsin_metrics: Metrics
) -> None:
    # no foreign handler: no LogRecord; with one (Sentry, caplog...), events take the stdlib path
    tlog.configure("production", "INFO", stream=stream)
    log = tlog.get_logger("svc")
    log.info("direct", level="bogus")
    foreign = Collect()
    logging.getLogger("svc").addHandler(foreign)
    try:
        log.info("through_stdlib")
    finally:
        logging.getLogger("svc").removeHandler(foreign)
    log.info("direct_again")
    lines = json_lines(stream.getvalue())
    assert [(line["event"], line["level"]) for line in lines] == [
        ("direct", "info"),
        ("through_stdlib", "info"),
        ("direct_again", "info"),
    ]
    assert len(foreign.lines) == 1 and "'through_stdlib'" in foreign.lines[0]  # the event dict, unformatted
    assert sample_value(tocsin_metrics, "log_messages_total", {"level": "info", "logger": "svc"}) == 3


def test_a_stdlib_record_is_rendered_once_for_every_json_output(
    tmp_path: Path, stream: io.StringIO, tocsin_metrics: Metrics
) -> None:
    path = tmp_path / "app.log"
    tlog.configure("production", "INFO", "svc", stream=stream, file=tlog.LogFile(path, level="INFO"))
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("lib").error("failed %s", "lookup", exc_info=True, extra={"order_id": 7})
    (on_console,) = json_lines(stream.getvalue())
    assert json_lines(path.read_text()) == [on_console]  # same timestamp: one rendering for both
    assert (on_console["event"], on_console["order_id"], on_console["service"]) == ("failed lookup", 7, "svc")
    assert on_console["exception"].endswith("KeyError: 'missing'")
    assert list(on_console)[:4] == ["timestamp", "level", "logger", "event"]


def test_werkzeug_dev_server_colours_stay_out_of_json(stream: io.StringIO, tocsin_metrics: Metrics) -> None:
    """Flask's `flask run` server colours its lines even into a file; JSON lines must not carry ESC codes."""
    import threading
    import urllib.error
    import urllib.request

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    tlog.configure("production", "INFO", "flaskr", stream=stream)
    server = make_server("127.0.0.1", 0, Response("nothing here", status=404))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/nope", timeout=10)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    (access,) = [line for line in json_lines(stream.getvalue()) if line["logger"] == "werkzeug"]
    assert '"GET /nope HTTP/1.1" 404' in access["event"], access
    assert "\x1b" not in stream.getvalue()
