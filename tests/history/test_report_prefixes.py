"""The HTTP sections' queries under the applications' metric prefixes (no Prometheus needed)."""

from __future__ import annotations

import pytest

from tocsin.history.report._builtins import _http, configured_http_prefixes
from tocsin.history.report._context import Context


def _ctx(prefixes: tuple[str, ...]) -> Context:
    ctx = Context(api=None, spec=None, period="week", start=0.0, end=1.0)  # type: ignore[arg-type]
    ctx.http_prefixes = prefixes
    return ctx


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("ocr", ("ocr",)),
        ("ocr_", ("ocr",)),
        (" ocr , orders ", ("ocr", "orders")),
        ("-", ("",)),
        (["-", "ocr", "ocr"], ("", "ocr")),
    ],
)
def test_the_param_and_the_flag_name_prefixes(value: object, expected: tuple[str, ...] | None) -> None:
    assert configured_http_prefixes(value) == expected


def test_one_prefix_keeps_plain_readable_names() -> None:
    q = 'sum by (job) (increase(http_requests_total{status=~"5.."}[7d]))'
    assert _http(_ctx(("",)), q) == q
    assert _http(_ctx(("ocr",)), q) == 'sum by (job) (increase(ocr_http_requests_total{status=~"5.."}[7d]))'


def test_several_prefixes_read_every_name_through_one_selector() -> None:
    ctx = _ctx(("", "ocr"))
    assert _http(
        ctx, 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'
    ) == (
        'sum(rate({__name__=~"(?:|ocr_)http_requests_total",status=~"5.."}[5m]))'
        ' / sum(rate({__name__=~"(?:|ocr_)http_requests_total"}[5m]))'
    )
    assert _http(
        ctx, "histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket[1h])))"
    ) == (
        "histogram_quantile(0.5, sum by (job, le) (rate("
        '{__name__=~"(?:|ocr_)http_request_duration_seconds_bucket"}[1h])))'
    )


def test_rules_that_would_read_the_same_are_told_apart_by_their_labels() -> None:
    from tocsin.history.report._alerts import _names

    rules = [
        ("TargetDown", {"severity": "critical", "priority": "P1", "service": "ocr"}),
        ("TargetDown", {"severity": "critical", "priority": "P2", "service": "redis"}),
        ("OcrTooSlow", {"severity": "critical", "priority": "P1"}),
        ("OcrTooSlow", {"severity": "warning", "priority": "P2"}),
        ("Burn", {"severity": "critical", "long_window": "1h", "short_window": "5m", "slo": "a"}),
        ("Burn", {"severity": "critical", "long_window": "1h", "short_window": "5m", "slo": "b", "x": "1"}),
    ]
    assert _names(rules) == [
        "TargetDown (critical, service=ocr)",
        "TargetDown (critical, service=redis)",
        "OcrTooSlow (critical)",
        "OcrTooSlow (warning)",
        "Burn (critical, 1h/5m, slo=a)",
        "Burn (critical, 1h/5m, slo=b)",
    ]
