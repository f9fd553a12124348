"""The KPI models and their metrics: what traffic sends, what the ETL accepts, what benchmarks compare.

A *model* is one of the managed accounts the seed's system follows (``modelName`` in its code);
each reports the same metrics, so the cross-model benchmarks can compare them. ``BASELINES`` are
the typical values traffic draws around (uniform noise of ±``NOISE``: never an outlier for any of
the three detection methods, see :mod:`.detection`), ``LOWER_IS_BETTER`` the metrics where the
best model is the one with the smallest value.
"""

from __future__ import annotations

__all__ = ["BASELINES", "LOWER_IS_BETTER", "MAX_VALUE", "METRICS", "MODELS", "NOISE"]

BASELINES: dict[str, dict[str, float]] = {
    "aurora": {"revenue": 1850.0, "new_subscribers": 42.0, "engagement_rate": 0.061, "churn_rate": 0.032},
    "blaze": {"revenue": 1240.0, "new_subscribers": 55.0, "engagement_rate": 0.048, "churn_rate": 0.041},
    "coral": {"revenue": 2310.0, "new_subscribers": 31.0, "engagement_rate": 0.072, "churn_rate": 0.027},
}
MODELS = tuple(BASELINES)
METRICS = ("revenue", "new_subscribers", "engagement_rate", "churn_rate")
LOWER_IS_BETTER = frozenset({"churn_rate"})
NOISE = 0.1
#: beyond this a value is out of range (a unit mistake, a sensor gone mad), not an anomaly
MAX_VALUE = 1e9
