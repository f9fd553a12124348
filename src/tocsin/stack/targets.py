"""Scrape targets in plain words: the table ``tocsin up`` and ``tocsin status`` print.

A dashboard showing "No data" because a target is silently down is the classic failure of a hand-made
stack; Prometheus knows why (``lastError``), but in Go's words. These turn it into what to check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["TargetRow", "explain_scrape_error", "target_rows"]

_STATUS = re.compile(r"server returned HTTP status (\d{3})(?: (.*))?")
_PARSE = (
    "is not a valid start token",
    "expected a valid start token",
    "text format parsing error",
    "expected equal",
    "invalid metric type",
    "unsupported character",
    "expected value after metric",
    "expected label name",
    "invalid UTF-8",
    "strconv.Parse",
)


def explain_scrape_error(error: str, scrape_url: str = "") -> str:
    """One short phrase for a Prometheus ``lastError`` (empty stays empty)."""
    if not error:
        return ""
    path = urlsplit(scrape_url).path or "/metrics"
    if "connection refused" in error:
        return "connection refused (nothing listens on that port: is the service running?)"
    if (match := _STATUS.search(error)) is not None:
        code = match.group(1)
        if code == "404":
            return f"404 on the metrics path {path} (wrong metrics_path?)"
        if code in ("401", "403"):
            return f"{code} on {path}: the endpoint wants credentials"
        return f"HTTP {code} on {path}"
    if "context deadline exceeded" in error or "Client.Timeout" in error:
        return "timed out (the scrape took longer than scrape_timeout)"
    if "no such host" in error:
        return "host not found (DNS)"
    if "body size limit" in error:
        return "response larger than body_size_limit"
    if any(marker in error for marker in _PARSE):
        return f"not Prometheus format ({error})"
    return error


@dataclass(frozen=True)
class TargetRow:
    job: str
    instance: str
    state: str
    error: str


def target_rows(targets: list[dict[str, Any]]) -> list[TargetRow]:
    """Rows from ``/api/v1/targets`` active targets, down ones first."""
    rows = [
        TargetRow(
            job=str(t.get("labels", {}).get("job", t.get("scrapePool", ""))),
            instance=str(t.get("labels", {}).get("instance", t.get("scrapeUrl", ""))),
            state=str(t.get("health", "unknown")),
            error=explain_scrape_error(str(t.get("lastError", "")), str(t.get("scrapeUrl", ""))),
        )
        for t in targets
    ]
    return sorted(rows, key=lambda r: (r.state == "up", r.job, r.instance))
