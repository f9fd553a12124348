"""The ETL: pending raw records → validated, transformed, stored KPI records, with a quality score.

One batch per model and cycle (the seed's ``ImprovedETLProcessor.processBatch``):

1. *extract*: the model's pending ``kpi_raw`` rows, oldest first, at most ``BATCH`` (locked, so two
   workers never take the same rows);
2. *validation*: each record must have a known ``metric``, a finite numeric ``value`` within
   ``[0, MAX_VALUE]`` and an ISO ``period`` not in the future; each failure is counted by type
   (``kpi_etl_validation_errors_total``) and the batch's quality score is the share of valid records,
   0 to 100 (``kpi_etl_quality_score``, the seed's ``ETLQualityLow`` alert);
3. *transformation*: periods to UTC, values rounded to 6 significant digits;
4. *storage*: the valid records inserted and every raw row of the batch marked processed, in one
   transaction. If it fails, nothing is kept, the batch counts as ``error``
   (``kpi_etl_batches_total{status="error"}``) and its rows are retried next cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tocsin.sdk.logging import get_logger
from tocsin.sdk.packs import Etl

from .catalogue import MAX_VALUE, METRICS

__all__ = ["BATCH", "Batch", "EtlProcessor", "validate"]

BATCH = 500
log = get_logger("kpi.etl")


@dataclass
class Batch:
    """What one batch of one model became."""

    model: str
    size: int = 0
    valid: list[tuple[int, str, float, datetime]] = field(
        default_factory=list
    )  # raw id, metric, value, period
    errors: dict[str, int] = field(default_factory=dict)
    stored_ids: list[int] = field(default_factory=list)  # kpi_record ids, when stored

    @property
    def quality(self) -> float:
        return 100.0 * len(self.valid) / self.size if self.size else 100.0


def validate(payload: Any, now: datetime) -> tuple[str, float, datetime] | str:
    """``(metric, value, period)`` for a valid record, else the validation error type."""
    if not isinstance(payload, dict) or any(k not in payload for k in ("metric", "value", "period")):
        return "missing_field"
    metric, value, period = payload["metric"], payload["value"], payload["period"]
    if metric not in METRICS:
        return "unknown_metric"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "type_error"
    if not math.isfinite(value) or not 0 <= value <= MAX_VALUE:
        return "out_of_range"
    try:
        when = datetime.fromisoformat(str(period))
    except ValueError:
        return "bad_period"
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when > now + timedelta(minutes=5):
        return "bad_period"
    return metric, float(value), when


def _round(value: float) -> float:
    return float(f"{value:.6g}")


class EtlProcessor:
    """Runs batches on one connection, instrumented with the etl pack (``kpi_etl_*``)."""

    def __init__(self, conn: psycopg.Connection[Any], etl: Etl | None = None) -> None:
        self.conn = conn
        self.etl = etl or Etl()

    def process(self, model: str) -> Batch | None:
        """One batch of ``model``; None when nothing was pending. psycopg errors other than the
        storage step's propagate (the connection is gone: the worker reconnects)."""
        batch = Batch(model)
        etl = self.etl
        with self.conn.transaction():
            with etl.time_operation(model, "extract"):
                rows = self.conn.execute(
                    "SELECT id, payload FROM kpi_raw WHERE model_name = %s AND processed_at IS NULL "
                    "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                    (model, BATCH),
                ).fetchall()
            if not rows:
                return None
            batch.size = len(rows)
            now = datetime.now(UTC)
            with etl.time_operation(model, "validation"):
                checked = [(raw_id, validate(payload, now)) for raw_id, payload in rows]
            with etl.time_operation(model, "transformation"):
                for raw_id, result in checked:
                    if isinstance(result, str):
                        batch.errors[result] = batch.errors.get(result, 0) + 1
                    else:
                        metric, value, period = result
                        batch.valid.append((raw_id, metric, _round(value), period.replace(microsecond=0)))
            etl.set_quality_score(model, round(batch.quality, 2))
            for error_type, count in batch.errors.items():
                etl.validation_error(model, error_type, count)
            try:
                with etl.time_operation(model, "storage"), self.conn.transaction():
                    self._store(batch, [raw_id for raw_id, _ in rows])
            except psycopg.errors.DatabaseError as exc:
                if isinstance(exc, psycopg.OperationalError):
                    raise
                etl.record_processed(model, "failed", batch.size)
                etl.batch_processed(model, "error", size=batch.size)
                log.error("etl_batch_failed", model_name=model, records=batch.size, stage="storage",
                          error=" ".join(str(exc).split())[:200])  # fmt: skip
                return batch
        etl.record_processed(model, "valid", len(batch.valid))
        etl.record_processed(model, "invalid", batch.size - len(batch.valid))
        etl.batch_processed(model, "success", size=batch.size)
        level = log.warning if batch.errors else log.debug
        level("etl_batch_processed", model_name=model, records=batch.size, quality=round(batch.quality, 1),
              errors=batch.errors)  # fmt: skip
        return batch

    def _store(self, batch: Batch, raw_ids: list[int]) -> None:
        if batch.valid:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO kpi_record (model_name, metric, value, period, raw_id) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    [
                        (batch.model, metric, value, period, raw_id)
                        for raw_id, metric, value, period in batch.valid
                    ],
                    returning=True,
                )
                while True:
                    row = cur.fetchone()
                    if row is not None:
                        batch.stored_ids.append(int(row[0]))
                    if not cur.nextset():
                        break
        self.conn.execute(
            "UPDATE kpi_raw SET processed_at = clock_timestamp() WHERE id = ANY(%s)", (raw_ids,)
        )
