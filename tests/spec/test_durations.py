"""One duration grammar, Prometheus': tocsin.durations and every duration field of the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.durations import MAX_DURATION_MS, duration_ms, duration_seconds, format_duration
from tocsin.errors import SpecError
from tocsin.spec import load_spec

VALID = {
    "0": 0,
    "0s": 0,
    "250ms": 250,
    "30s": 30_000,
    "1h30m": 5_400_000,
    "1y2w3d4h5m6s7ms": ((365 + 14 + 3) * 86_400 + 4 * 3600 + 5 * 60 + 6) * 1000 + 7,
    "292y": 292 * 365 * 86_400_000,
}
#: Refused by prometheus/common's model.ParseDuration too.
INVALID = [
    "",
    "1.5h",
    "90",
    "5 min",
    "30s5m",
    "1h1h",
    "-5m",
    "1H",
    "5mins",
    "∞",
    "1e3s",
    "293y",
    "9" * 30 + "y",
]


@pytest.mark.parametrize(("text", "millis"), VALID.items())
def test_valid(text: str, millis: int) -> None:
    assert duration_ms(text) == millis
    assert duration_seconds(text) == millis / 1000


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(ValueError, match=r"^.+: .+"):  # "<what>: <how to fix>", as spec errors print
        duration_ms(text)


def test_range_is_go_int64_nanoseconds() -> None:
    assert MAX_DURATION_MS == (2**63 - 1) // 1_000_000
    assert duration_ms("292y") <= MAX_DURATION_MS < duration_ms("292y") + 365 * 86_400_000


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (0.25, "250ms"), (5400, "1h30m"), (86_400 * 9, "9d")]
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert duration_seconds(text) == seconds


SPEC = """\
version: tocsin/v1
app: shop
scrape: {{interval: {interval}}}
services:
  web: {{targets: ["127.0.0.1:8000"]}}
alerts:
  - {{name: A, expr: up, warning: "< 1", for: {for_}}}
"""


@pytest.mark.parametrize(
    ("interval", "for_", "message"),
    [
        ("15s", "1.5h", "'1.5h' is not a duration (whole units only, e.g. 1h30m for 1.5h)"),
        ("15s", "99999999999999999999y", "'99999999999999999999y' is out of range"),
        ("15s", "90", "90 is not a duration (give a unit, e.g. '90s' or '90m')"),
        ("0s", "5m", "'0s' must be longer than 0"),
    ],
)
def test_spec_fields_use_the_grammar(tmp_path: Path, interval: str, for_: str, message: str) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC.format(interval=interval, for_=for_), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert len(caught.value.problems) == 1
    assert message in str(caught.value.problems[0])


def test_zero_for_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC.format(interval="15s", for_="0"), encoding="utf-8")
    assert load_spec(path).alerts[0].for_ == "0s"
