"""The queue pack's confidence alert judges the items read in the window, not the last score standing.

Regression (CI, examples/ocr_service): the alert was ``avg(ocr_confidence_score) < 80``, a gauge holding
the last score of each type. When the workers stalled (queue saturation) nothing replaced the last
score, one low reading stood, and ``OcrConfidenceLow`` fired critical during a fault that had nothing
to do with confidence. The same happens in production with one bad page of a rare document type.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tocsin.compile import compile_spec
from tocsin.sdk.packs import Queue
from tocsin.spec import load_spec
from tocsin.testing import fresh_metrics, sample_value

SPEC = """\
version: tocsin/v1
app: ocr
packs:
  - {use: queue, prefix: ocr, name: Ocr, items: documents, type_label: document_type}
routes:
  default: [tocsin]
"""

# 15 min of readings at 60 (one a scrape), then a stall of 30 min: nothing read, the gauge stays at 60
STALL = """\
rule_files: [{rules}]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: ocr_confidence_sum{{document_type="invoice"}}
        values: 0+60x60 3600x120
      - series: ocr_confidence_count{{document_type="invoice"}}
        values: 0+1x60 60x120
      - series: ocr_confidence_score{{document_type="invoice"}}
        values: 60x180
    promql_expr_test:
      - expr: avg(ocr_confidence_score)   # the old expression: still 60, 25 min into the stall
        eval_time: 40m
        exp_samples: [{{labels: "{{}}", value: 60}}]
    alert_rule_test:
      - eval_time: 14m                     # low readings for over 10 min: critical and warning
        alertname: OcrConfidenceLow
        exp_alerts:
          - exp_labels: {{severity: critical, priority: P3, pack: queue}}
            exp_annotations: {critical}
          - exp_labels: {{severity: warning, priority: P3, pack: queue}}
            exp_annotations: {warning}
      - eval_time: 25m                     # 10 min into the stall: no reading, no mean, no alert
        alertname: OcrConfidenceLow
        exp_alerts: []
      - eval_time: 40m
        alertname: OcrConfidenceLow
        exp_alerts: []
"""


def _annotations(level: str) -> str:
    mean = "sum(rate(ocr_confidence_sum[5m])) / sum(rate(ocr_confidence_count[5m]))"
    return json.dumps({
        "summary": "Average confidence is 60",
        "description": f"{mean} is 60, {level} for 10m.",
        "dashboard_url": "http://127.0.0.1:9096/dashboards/work-queue-ocr#panel-1",
    })  # fmt: skip


def test_each_reading_is_observed_as_well_as_kept_as_the_last() -> None:
    with fresh_metrics(prefix="ocr") as metrics:
        queue = Queue(items="documents", type_label="document_type")
        for score in (97.5, 60.0, 88.0):
            queue.processed("success", "invoice", seconds=0.3, confidence=score)
        invoice = {"document_type": "invoice"}
        assert sample_value(metrics, "ocr_confidence_score", invoice) == 88.0
        assert sample_value(metrics, "ocr_confidence_count", invoice) == 3
        assert sample_value(metrics, "ocr_confidence_sum", invoice) == pytest.approx(245.5)
        assert sample_value(metrics, "ocr_confidence_bucket", {**invoice, "le": "80.0"}) == 1
        assert sample_value(metrics, "ocr_confidence_bucket", {**invoice, "le": "90.0"}) == 2
        queue.processed("error", "invoice", seconds=0.1)  # no score: neither changes
        assert sample_value(metrics, "ocr_confidence_count", invoice) == 3


def test_the_alert_and_panels_use_the_readings_of_the_window(tmp_path: Path) -> None:
    (tmp_path / "tocsin.yaml").write_text(SPEC, encoding="utf-8")
    bundle = compile_spec(load_spec(tmp_path / "tocsin.yaml"))
    rules = bundle.files["prometheus/rules/alerts.yml"]
    assert "sum(rate(ocr_confidence_sum[5m])) / sum(rate(ocr_confidence_count[5m]))" in rules
    assert "confidence_score" not in rules
    dashboards = "".join(bundle.files[p] for p in bundle.paths("grafana/dashboards/"))
    assert "ocr_confidence_sum" in dashboards and "ocr_confidence_score" not in dashboards


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("promtool") is None, reason="no promtool")
def test_a_stall_after_low_readings_does_not_keep_the_alert_firing(tmp_path: Path) -> None:
    (tmp_path / "tocsin.yaml").write_text(SPEC, encoding="utf-8")
    bundle = compile_spec(load_spec(tmp_path / "tocsin.yaml"))
    bundle.write(tmp_path / "out")
    rules = tmp_path / "out" / "prometheus" / "rules" / "alerts.yml"
    test = tmp_path / "stall_test.yml"
    test.write_text(
        STALL.format(rules=rules, critical=_annotations("< 80 (the critical threshold)"),
                     warning=_annotations("< 90 (the warning threshold)")),
        encoding="utf-8",
    )  # fmt: skip
    done = subprocess.run(
        ["promtool", "test", "rules", str(test)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
