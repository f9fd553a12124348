"""Anomaly detection on real numbers: the seed's three methods, each with its own severity scale.

Each method compares a new value with the series' recent history (the last ``WINDOW`` stored
values of the same model and metric, the new batch excluded):

=================  ======================================================  ==============================
method             score                                                   severity
=================  ======================================================  ==============================
``zscore``         ``|x - mean| / stdev``                                  > 3 medium, > 5 high
``iqr``            distance past the Tukey fence, in IQRs                  > 1.5 low, > 3 high (far out)
``modified_zscore`` ``0.6745 |x - median| / MAD`` (Iglewicz and Hoaglin)   > 3.5 medium, > 7 high
=================  ======================================================  ==============================

The mean and standard deviation are pulled by the outliers they should find; the median, the
quartiles and the MAD are not, which is why the seed runs all three. A history shorter than
``MIN_HISTORY`` or without spread (every value equal) yields nothing: there is no scale to judge by.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MIN_HISTORY", "WINDOW", "Finding", "detect", "iqr", "modified_zscore", "zscore"]

WINDOW = 200
MIN_HISTORY = 20


@dataclass(frozen=True)
class Finding:
    """One method's verdict on one value."""

    method: str
    severity: str
    score: float
    value: float


def _severity(score: float, scale: Sequence[tuple[float, str]]) -> str | None:
    for bound, severity in scale:
        if score > bound:
            return severity
    return None


def zscore(value: float, history: Sequence[float]) -> float | None:
    """Standard scores from the mean and the sample standard deviation; None without spread."""
    stdev = statistics.stdev(history)
    return abs(value - statistics.fmean(history)) / stdev if stdev > 0 else None


def iqr(value: float, history: Sequence[float]) -> float | None:
    """How far past the nearer Tukey fence (Q1 - 1.5 IQR, Q3 + 1.5 IQR) ``value`` is, in IQRs plus 1.5.

    0 inside the fences; 3 means on the "far out" fence (Q3 + 3 IQR). None without spread.
    """
    q1, _, q3 = statistics.quantiles(history, n=4, method="inclusive")
    spread = q3 - q1
    if spread <= 0:
        return None
    if value > q3:
        return (value - q3) / spread
    if value < q1:
        return (q1 - value) / spread
    return 0.0


def modified_zscore(value: float, history: Sequence[float]) -> float | None:
    """0.6745 (x - median) / MAD, robust to the outliers themselves; None when the MAD is 0."""
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    return 0.6745 * abs(value - median) / mad if mad > 0 else None


_METHODS = (
    ("zscore", zscore, ((5.0, "high"), (3.0, "medium"))),
    ("iqr", iqr, ((3.0, "high"), (1.5, "low"))),
    ("modified_zscore", modified_zscore, ((7.0, "high"), (3.5, "medium"))),
)


def detect(values: Sequence[float], history: Sequence[float]) -> list[Finding]:
    """Every method's findings for each of ``values`` against ``history``."""
    if len(history) < MIN_HISTORY:
        return []
    findings = []
    for value in values:
        if not math.isfinite(value):
            continue
        for method, score_of, scale in _METHODS:
            score = score_of(value, history)
            severity = _severity(score, scale) if score is not None else None
            if severity is not None and score is not None:
                findings.append(Finding(method, severity, round(score, 3), value))
    return findings
