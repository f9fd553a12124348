"""``tocsin export``: a range query of any length, split under Prometheus' point limit, fetched in parallel.

Prometheus refuses a range query whose ``(end - start) / step`` exceeds 11,000 and evaluates one query on
one core, so a Python loop over ``query_range`` is both capped and serial. :func:`export_range` plans
consecutive chunks on the query's step grid (:func:`~tocsin.history._times.plan_chunks`), fetches them
concurrently on one async httpx connection pool, and merges each series' points in time order, dropping
any point a chunk repeats at its edge. A chunk Prometheus refuses for loading too many samples is split
in two and retried, so wide queries still come back whole::

    from tocsin.history.export import export_range, write_csv
    from tocsin.history._times import TimeRange, parse_time

    span = TimeRange(parse_time("7d"), parse_time("now"), 60)
    series = export_range("http://127.0.0.1:9090", "rate(http_requests_total[5m])", span)
    write_csv(series, open("out.csv", "w", newline=""))
"""

from __future__ import annotations

import asyncio
import csv
import gc
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import httpx
import orjson

from tocsin.history._times import DEFAULT_CONCURRENCY, MAX_POINTS, TimeRange, plan_chunks
from tocsin.promapi import AsyncPrometheusAPI, BadQueryError, PrometheusAPIError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "Series",
    "client",
    "export_range",
    "fetch_range",
    "label_columns",
    "paused_gc",
    "write_csv",
    "write_json",
]

Progress = Callable[[int, int], None]


@dataclass
class Series:
    """One series of the answer: its labels and its ``[timestamp, "value"]`` points in time order, as
    Prometheus wrote them (so ``NaN``, ``+Inf`` and every digit survive the trip)."""

    labels: dict[str, str]
    points: list[list[Any]] = field(default_factory=list)

    @property
    def timestamps(self) -> list[float]:
        return [p[0] for p in self.points]

    @property
    def values(self) -> list[str]:
        return [p[1] for p in self.points]

    def floats(self) -> list[float]:
        return [float(p[1]) for p in self.points]


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _append(series: Series, points: list[list[Any]]) -> None:
    """Extend with a later chunk's points, skipping those at or before the last kept timestamp: the
    repeats a chunk can carry at its leading edge (points within a chunk are already ordered)."""
    if series.points:
        last = series.points[-1][0]
        skip = 0
        while skip < len(points) and points[skip][0] <= last:
            skip += 1
        points = points[skip:] if skip else points
    series.points.extend(points)


def _merge(chunks: Iterable[list[dict[str, Any]]]) -> list[Series]:
    """Chunk answers (in time order) → one Series per label set, edges deduplicated."""
    merged: dict[tuple[tuple[str, str], ...], Series] = {}
    for result in chunks:
        for item in result:
            key = _key(item["metric"])
            series = merged.get(key)
            if series is None:
                merged[key] = Series(dict(item["metric"]), item["values"])
            else:
                _append(series, item["values"])
    return sorted(merged.values(), key=lambda s: _key(s.labels))


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while big answers are decoded.

    A week of 50 series is 1.5 million small lists and strings; each allocation burst triggers a
    collection pass over all of them, which made decoding 2.5x slower than the parsing itself. The
    decoded objects hold no cycles, so nothing is lost by collecting once afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _too_many_samples(err: PrometheusAPIError) -> bool:
    return err.error_type == "execution" and "too many samples" in str(err)


async def _fetch_chunk(
    api: AsyncPrometheusAPI, query: str, chunk: TimeRange, gate: asyncio.Semaphore
) -> list[list[dict[str, Any]]]:
    """The answers covering ``chunk``: one, or more when Prometheus wanted it smaller."""
    try:
        async with gate:
            return [await api.query_range(query, chunk.start, chunk.end, chunk.step)]
    except PrometheusAPIError as err:
        if not _too_many_samples(err) or chunk.points < 2:
            raise
    halves = plan_chunks(chunk, max_points=math.ceil(chunk.points / 2))
    parts = await asyncio.gather(*(_fetch_chunk(api, query, half, gate) for half in halves))
    return [answer for part in parts for answer in part]


async def fetch_range(
    api: AsyncPrometheusAPI,
    query: str,
    span: TimeRange,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_points: int = MAX_POINTS,
    progress: Progress | None = None,
    gate: asyncio.Semaphore | None = None,
) -> list[Series]:
    """Fetch ``query`` over ``span`` through ``api`` in parallel chunks and merge them (see the module).

    ``gate`` shares one concurrency limit between several fetches running at once."""
    chunks = plan_chunks(span, max_points=max_points, min_chunks=concurrency)
    gate = gate or asyncio.Semaphore(max(1, concurrency))
    done = 0
    if progress:
        progress(0, len(chunks))

    async def one(chunk: TimeRange) -> list[list[dict[str, Any]]]:
        nonlocal done
        answers = await _fetch_chunk(api, query, chunk, gate)
        done += 1
        if progress:
            progress(done, len(chunks))
        return answers

    tasks = [asyncio.ensure_future(one(chunk)) for chunk in chunks]
    try:
        parts = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return _merge(answer for part in parts for answer in part)


def client(
    base_url: str, concurrency: int = DEFAULT_CONCURRENCY, timeout: float = 120.0
) -> httpx.AsyncClient:
    # No gzip on the way back: Prometheus compresses at the cost of a core that the query needs,
    # and most exports read a Prometheus on the same host.
    limits = httpx.Limits(max_connections=max(1, concurrency), max_keepalive_connections=max(1, concurrency))
    # Plain http never uses TLS: skip loading the CA bundle (0.1 s per client); https verifies as usual.
    verify = not base_url.startswith("http://")
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        limits=limits,
        headers={"Accept-Encoding": "identity"},
        verify=verify,
    )


def export_range(
    base_url: str,
    query: str,
    span: TimeRange,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_points: int = MAX_POINTS,
    timeout: float = 120.0,
    progress: Progress | None = None,
) -> list[Series]:
    """Blocking :func:`fetch_range` against the Prometheus at ``base_url``.

    Raises :class:`~tocsin.promapi.BadQueryError` (exit 2) when Prometheus rejects the query and
    :class:`~tocsin.promapi.PrometheusAPIError` (exit 1) when it cannot be reached or fails.
    """

    async def run() -> list[Series]:
        async with client(base_url, concurrency, timeout) as http:
            api = AsyncPrometheusAPI(base_url, client=http)
            return await fetch_range(
                api, query, span, concurrency=concurrency, max_points=max_points, progress=progress
            )

    try:
        with paused_gc():
            return asyncio.run(run())
    except BadQueryError as err:
        detail = str(err).split(": bad_data: ", 1)[-1]
        raise BadQueryError(f"Prometheus at {base_url} rejected {query!r}: {detail}", "bad_data") from None


# --- writers ----------------------------------------------------------------------------------------------

TimeFormat = Literal["iso", "unix"]


def _stamp(ts: float, time_format: TimeFormat) -> str:
    if time_format == "unix":
        return f"{ts:.3f}".rstrip("0").rstrip(".")
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def label_columns(series: Sequence[Series]) -> list[str]:
    """Every label name of the answer, ``__name__`` first, then sorted."""
    names = sorted({name for s in series for name in s.labels})
    return (["__name__"] if "__name__" in names else []) + [n for n in names if n != "__name__"]


def write_csv(series: Sequence[Series], out: TextIO, *, time_format: TimeFormat = "iso") -> int:
    """One row per point: ``timestamp``, one column per label name (empty where a series lacks it),
    ``value``. Rows go series by series, each in time order. Returns the number of rows."""
    columns = label_columns(series)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", *columns, "value"])
    rows = 0
    for s in series:
        labels = [s.labels.get(name, "") for name in columns]
        writer.writerows([_stamp(ts, time_format), *labels, value] for ts, value in s.points)
        rows += len(s.points)
    return rows


def write_json(series: Sequence[Series], out: TextIO) -> int:
    """The shape of Prometheus' own ``query_range`` ``data`` (``resultType: matrix``), so tools that read
    the API read this too. Returns the number of points."""
    document = {
        "resultType": "matrix",
        "result": [{"metric": s.labels, "values": s.points} for s in series],
    }
    out.write(orjson.dumps(document).decode())
    out.write("\n")
    return sum(len(s.points) for s in series)
