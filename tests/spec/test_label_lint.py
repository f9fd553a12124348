"""Lint: labels an alert references (``$labels.X``, route ``group_by``) that its expression cannot carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.spec import load_spec, spec_warnings
from tocsin.spec._labels import output_labels


@pytest.mark.parametrize(
    ("expr", "present", "absent"),
    [
        ("rate(x_total[5m])", ["instance", "anything"], []),
        ("sum(rate(x_total[5m]))", [], ["instance", "job"]),
        ("sum by (job) (rate(x_total[5m])) > 2", ["job"], ["instance"]),
        ("sum without (instance) (x)", ["job", "pod"], ["instance"]),
        ("count(up == 0)", [], ["instance"]),
        ("scalar(x) * 2", [], ["instance"]),
        ("vector(1)", [], ["instance"]),
        ("time() - max(last_success) > 7200", [], ["job"]),
        ("histogram_quantile(0.95, sum by (le, route) (rate(h_bucket[5m])))", ["route"], ["le", "instance"]),
        ("histogram_quantile(0.95, rate(h_bucket[5m]))", ["instance"], ["le"]),
        ("x / on (job) group_left (team) y", ["instance", "team"], []),
        ("sum by (job) (x) * on (job) group_left (team) info", ["job", "team"], ["instance"]),
        ("x > on (queue) y", ["queue"], ["instance"]),
        ("sum by (a, b) (x) / ignoring (b) sum by (a) (y)", ["a"], ["b"]),
        ('label_replace(sum(x), "dst", "$1", "src", "(.*)")', ["dst"], ["src"]),
        ('label_join(sum by (a) (x), "ab", "-", "a", "b")', ["a", "ab"], ["b"]),
        ("topk by (a) (3, x)", ["instance"], []),
        ('count_values("version", build_info)', ["version"], ["instance"]),
        ("sum(a) or sum by (b) (c)", ["b"], ["instance"]),
        ("sum(a) and on () x", [], ["instance"]),
        ("abs(max by (queue) (x))", ["queue"], ["instance"]),
        ("max_over_time(sum by (queue) (x)[10m:1m])", ["queue"], ["instance"]),
        ('absent(up{job="api"})', ["job", "instance"], []),
    ],
)
def test_output_labels(expr: str, present: list[str], absent: list[str]) -> None:
    bound = output_labels(expr)
    assert [label for label in present if not bound.can_have(label)] == []
    assert [label for label in absent if bound.can_have(label)] == []


SPEC = """\
version: tocsin/v1
app: shop
labels: {region: eu}
receivers:
  ops: {webhook: {url: "http://127.0.0.1:9/hook"}}
routes:
  P1: {receivers: [ops], group_by: [alertname, instance, region]}
  default: [ops]
alerts:
  - name: ErrorsHigh
    expr: sum(rate(errors_total[5m]))
    warning: "> 2"
    for: 5m
    priority: P1
    summary: "{{ $labels.instance }} errors {{ $value }} in {{ $labels.region }}"
  - name: QueueSaturated
    expr: sum by (queue) (queue_size)
    warning: "> 10"
    for: 5m
    description: "Queue {{ $labels.queue }} holds {{ $value | humanize }}"
  - name: SlowRoute
    expr: histogram_quantile(0.95, sum by (le, route) (rate(http_seconds_bucket[5m])))
    warning: "> 1"
    for: 5m
    summary: "{{ $labels.route }} on {{ $labels.pod }}"
"""


def test_spec_warnings_name_the_missing_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC, encoding="utf-8")
    found = [(w.line, w.message) for w in spec_warnings(load_spec(path)) if "cannot carry" in w.message]
    assert [(line, message.split(":")[0]) for line, message in found] == [
        (15, "$labels.instance is always empty"),
        (
            7,
            "routes.P1 groups by 'instance', which alert 'ErrorsHigh' cannot carry"
            " ('sum(rate(errors_total[5m]))')",
        ),
        (25, "$labels.pod is always empty"),
    ], found
    assert main(["compile", "-o", str(tmp_path / "out"), str(path)]) == 0  # warnings do not fail
    err = capsys.readouterr().err
    assert "tocsin: warning: " in err and "tocsin.yaml:15:14: $labels.instance is always empty" in err, err
