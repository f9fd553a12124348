"""Annotation templates expanded in Python must equal what Prometheus 2.42 renders: checked with promtool.

One rule file holds one alert per template form; one series per test value fires all of them, and
``promtool test rules`` compares every Python expansion with Prometheus's own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tocsin.spec._templates import expand, go_float, humanize_duration, humanize_timestamp, parse_template

TEMPLATES = {
    "plain": "{{ $value }}",
    "humanize": "{{ $value | humanize }}",
    "humanize1024": "{{ $value | humanize1024 }}",
    "duration": "{{ $value | humanizeDuration }}",
    "percentage": "{{ $value | humanizePercentage }}",
    "timestamp": "{{ $value | humanizeTimestamp }}",
    "printf": '{{ $value | printf "%.2f" }} {{ printf "%.0f" $value }} {{ $value | printf "%g" }}',
    "printf_flags": (
        '[{{ $value | printf "%+8.3f" }}] [{{ $value | printf "%-10.2e" }}] {{ $value | printf "%.3g%%" }}'
    ),
    "labels": "{{ $labels.case }} in {{ $externalLabels.app }}/{{ $externalLabels.env }}",
}
VALUES = [
    "0",
    "1",
    "-1",
    "0.5",
    "0.001234",
    "0.000012345",
    "3e-9",
    "12.5",
    "59.999",
    "60",
    "3599",
    "3600",
    "86399",
    "90061",
    "1000000",
    "1234567",
    "123456",
    "999.95",
    "1536",
    "1048576",
    "5.5e12",
    "-0.25",
    "-90061.5",
    "1e21",
    "1679000000.123456",
    "-1.5",
    "0.1",
    "7",
    "NaN",
    "Inf",
    "-Inf",
]
EXTERNAL = {"app": "shop", "env": "prod"}
#: Go's int64 conversions overflow beyond these (Prometheus then prints an error, not a value).
BOUNDED = {"duration": 1e15, "timestamp": 9e9}


def _fires(name: str, value: str) -> bool:
    bound = BOUNDED.get(name)
    return bound is None or not bound <= abs(float(value)) < float("inf")


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_python_expansion_matches_promtool(tmp_path: Path) -> None:
    rules = [
        {
            "alert": f"T_{name}",
            "expr": f"x unless (abs(x) >= {BOUNDED[name]} and abs(x) < +Inf)" if name in BOUNDED else "x",
            "annotations": {"text": text},
        }
        for name, text in TEMPLATES.items()
    ]
    (tmp_path / "rules.yml").write_text(json.dumps({"groups": [{"name": "t", "rules": rules}]}))
    series = [{"series": f'x{{case="c{i}"}}', "values": f"{v} {v} {v}"} for i, v in enumerate(VALUES)]
    checks = [
        {
            "eval_time": "1m",
            "alertname": f"T_{name}",
            "exp_alerts": [
                {
                    "exp_labels": {"case": f"c{i}"},
                    "exp_annotations": {"text": expand(text, float(v), {"case": f"c{i}"}, EXTERNAL)},
                }
                for i, v in enumerate(VALUES)
                if _fires(name, v)
            ],
        }
        for name, text in TEMPLATES.items()
    ]
    test = {"interval": "1m", "external_labels": EXTERNAL, "input_series": series, "alert_rule_test": checks}
    (tmp_path / "test.yml").write_text(
        json.dumps({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [test]})
    )
    done = subprocess.run(
        ["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "0s"),
        (0.25, "250ms"),
        (12.5, "12.5s"),
        (61.9, "1m 1s"),
        (90061.0, "1d 1h 1m 1s"),
        (-3600, "-1h 0m 0s"),
    ],
)
def test_humanize_duration(value: float, expected: str) -> None:
    assert humanize_duration(value) == expected


def test_go_float_and_timestamp() -> None:
    assert [go_float(v) for v in (1e6, 123456.0, 1e-5, 0.0001, float("nan"), float("-inf"))] == [
        "1e+06",
        "123456",
        "1e-05",
        "0.0001",
        "NaN",
        "-Inf",
    ]
    assert humanize_timestamp(1679000000.123456) == "2023-03-16 20:53:20.123 +0000 UTC"


@pytest.mark.parametrize(
    "body",
    [
        "- $value -",
        " $value | toUpper ",
        ' $value | printf "%d" ',
        ' $value | printf "%s %f" ',
        " .Value ",
        "",
    ],
)
def test_unsupported_forms_are_rejected(body: str) -> None:
    with pytest.raises(ValueError, match=r"unsupported template|printf"):
        parse_template(body)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_compiled_unit_tests_pass_with_every_template_form(tmp_path: Path) -> None:
    """End to end: the compiler's generated promtool tests state these annotations, and promtool agrees."""
    spec = tmp_path / "tocsin.yaml"
    summary = "{{ $labels.job }} in {{ $externalLabels.env }} stale for {{ $value | humanizeDuration }}"
    description = (
        '{{ $value | printf "%.1f" }}s ({{ $value | humanize1024 }}, {{ $value | humanizeTimestamp }})'
    )
    alert = {
        "name": "JobStale",
        "expr": "time() - max by (job) (last_success_seconds)",
        "warning": "> 5400",
        "critical": "> 90000",
        "for": "1m",
        "summary": summary,
        "description": description,
    }
    document = {"version": "tocsin/v1", "app": "shop", "labels": {"env": "prod"}, "alerts": [alert]}
    spec.write_text(json.dumps(document), encoding="utf-8")
    from tocsin.cli import main

    assert main(["compile", "-o", str(tmp_path / "out"), str(spec)]) == 0
    tests = (tmp_path / "out" / "prometheus" / "tests" / "alerts_test.yml").read_text(encoding="utf-8")
    assert "example in prod stale for 13h 15m 0s" in tests
    assert "47700.0s (46.58ki, 1970-01-01 13:15:00 +0000 UTC)" in tests
    assert main(["check", str(spec)]) == 0
