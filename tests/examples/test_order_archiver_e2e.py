"""Seed 003 end to end: the order archiver (watch + batch + remediator) on PostgreSQL, the real stack in
the fast profile, a clean period with zero notifications, then every fault of
examples/order_archiver/scenario.yaml in turn: the expected alerts at the expected receivers in
time, then resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.examples._e2e import needs_stack, run_example


@pytest.mark.integration
@pytest.mark.timeout(1500)
@needs_stack
def test_order_archiver_faults_fire_exactly_the_plans_alerts(tmp_path: Path) -> None:
    run_example("order_archiver", tmp_path)
