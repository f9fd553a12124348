"""Seed 000 end to end: the OCR service (FastAPI, four workers reading with Tesseract, a Redis queue and
cache under the run's own key prefix), the real stack in the fast profile, a clean period with zero
notifications, then every fault of examples/ocr_service/scenario.yaml in turn: the expected alerts at
the expected receivers in time, then resolution."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.examples._e2e import needs_stack, run_example


@pytest.mark.integration
@pytest.mark.timeout(1500)  # it may wait for another example run to finish
@needs_stack
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs Debian's tesseract-ocr (make system)")
@pytest.mark.skipif(
    shutil.which("prometheus-redis-exporter") is None, reason="needs prometheus-redis-exporter (make system)"
)
def test_ocr_service_faults_fire_exactly_the_plans_alerts(tmp_path: Path) -> None:
    run_example("ocr_service", tmp_path)
