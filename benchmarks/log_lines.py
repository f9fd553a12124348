"""Cost of one JSON log line: tocsin against structlog's own JSON set-up, seed 002's and stdlib logging.

(Named log_lines.py, not logging.py: a benchmarks/logging.py would shadow the standard library
for every script run from this directory.)

Every set-up writes to ``/dev/null`` through a real file object, in this one
process, one after another; the figure is µs per line (median of 5 runs of
20,000 lines), and ratios are against structlog's recommended JSON set-up
(``make_filtering_bound_logger`` + ``WriteLoggerFactory`` + ``JSONRenderer``,
no stdlib integration), against the same with orjson and ``BytesLoggerFactory``
(structlog's performance page), and against plain stdlib logging.

tocsin does more per line than the structlog fast path: it adds logger name,
service, environment and trace ids, counts the line in ``log_messages_total``
and honours per-output levels; it skips the stdlib ``LogRecord`` only while no
foreign handler would see the event (see ``tocsin.sdk.logging._direct``).
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import structlog
from _common import write_results

from tocsin.sdk import logging as tlog
from tocsin.testing import fresh_metrics

LINES = 20_000
RUNS = 7


def _per_line_us(emit: Callable[[int], None]) -> float:
    """One run: µs per line over LINES lines (``main`` interleaves the set-ups run by run)."""
    started = time.perf_counter()
    for i in range(LINES):
        emit(i)
    return (time.perf_counter() - started) / LINES * 1e6


def _clean_stdlib() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.WARNING)


def _with_tocsin(devnull: Any, emitter: Callable[[], Callable[[int], None]]) -> float:
    """One run under ``tlog.configure("production")``; ``emitter`` is called after configuring."""
    with fresh_metrics():
        tlog.configure("production", "INFO", "bench", stream=devnull)
        try:
            return _per_line_us(emitter())
        finally:
            tlog.reset()


def tocsin_json(devnull: Any) -> float:
    def emitter() -> Callable[[int], None]:
        log = tlog.get_logger("bench.app")
        return lambda i: log.info("order_archived", order_id=i, status="delivered")

    return _with_tocsin(devnull, emitter)


def tocsin_stdlib_record(devnull: Any) -> float:
    """A library's stdlib logger through tocsin's pipeline (the foreign chain)."""
    lib = logging.getLogger("bench.library")
    return _with_tocsin(devnull, lambda: lambda i: lib.info("order %s archived", i))


def tocsin_filtered_debug(devnull: Any) -> float:
    def emitter() -> Callable[[int], None]:
        log = tlog.get_logger("bench.app")
        return lambda i: log.debug("noise", i=i)

    return _with_tocsin(devnull, emitter)


def _structlog_native(renderer: Any, logger_factory: Any) -> float:
    """structlog without the stdlib, as its docs recommend, with ``renderer`` and ``logger_factory``."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )
    log = structlog.get_logger("bench.app")
    try:
        return _per_line_us(lambda i: log.info("order_archived", order_id=i, status="delivered"))
    finally:
        structlog.reset_defaults()


def structlog_default_json(devnull: Any) -> float:
    return _structlog_native(structlog.processors.JSONRenderer(), structlog.WriteLoggerFactory(devnull))


def structlog_orjson_json(devnull: Any) -> float:
    """structlog's performance page set-up: the above with orjson and bytes written straight to the file."""
    import orjson

    with open(os.devnull, "wb") as raw:
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        return _structlog_native(renderer, structlog.BytesLoggerFactory(raw))


def seed_002(devnull: Any) -> float:
    """Seed 002's configure_logging("production"), verbatim but for the stream."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            structlog.processors.JSONRenderer(),
        ],
        context_class=dict,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(format="%(message)s", stream=devnull, level=logging.INFO, force=True)
    log = structlog.get_logger("bench.app")
    try:
        return _per_line_us(lambda i: log.info("order_archived", order_id=i, status="delivered"))
    finally:
        structlog.reset_defaults()
        _clean_stdlib()


def stdlib_text(devnull: Any) -> float:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=devnull,
        level=logging.INFO,
        force=True,
    )
    log = logging.getLogger("bench.app")
    try:
        return _per_line_us(lambda i: log.info("order_archived order_id=%s status=%s", i, "delivered"))
    finally:
        _clean_stdlib()


SETUPS = {
    "tocsin_json": tocsin_json,
    "tocsin_stdlib_logger_json": tocsin_stdlib_record,
    "tocsin_filtered_debug": tocsin_filtered_debug,
    "structlog_default_json": structlog_default_json,
    "structlog_orjson_bytes_json": structlog_orjson_json,
    "seed002_structlog_stdlib_json": seed_002,
    "stdlib_logging_text": stdlib_text,
}


def main() -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in SETUPS}
    with open(os.devnull, "w") as devnull:
        for _ in range(RUNS):  # interleaved, so a burst of load on the machine hits every set-up alike
            for name, setup in SETUPS.items():
                samples[name].append(setup(devnull))
    figures = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    ours = figures["tocsin_json"]
    return {
        "us_per_line": figures,
        "ratios": {
            "tocsin_over_structlog_default_json": round(ours / figures["structlog_default_json"], 2),
            "tocsin_over_structlog_orjson_bytes": round(ours / figures["structlog_orjson_bytes_json"], 2),
            "tocsin_over_seed002": round(ours / figures["seed002_structlog_stdlib_json"], 2),
            "tocsin_over_stdlib_text": round(ours / figures["stdlib_logging_text"], 2),
        },
        "lines_per_run": LINES,
    }


if __name__ == "__main__":
    results = main()
    path = write_results("log_lines", results)
    for name, value in results.items():
        print(f"{name}: {value}")
    print(f"wrote {path}")
