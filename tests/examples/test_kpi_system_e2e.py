"""Seed 001 end to end: the KPI system (API + WebSocket broadcaster, analytics worker) on PostgreSQL, the
real stack in the fast profile, a clean period with zero notifications, then every fault of
examples/kpi_system/scenario.yaml in turn: the expected alerts at the expected receivers in time, then
resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.examples._e2e import needs_stack, run_example


@pytest.mark.integration
@pytest.mark.timeout(1500)
@needs_stack
def test_kpi_system_faults_fire_exactly_the_plans_alerts(tmp_path: Path) -> None:
    run_example("kpi_system", tmp_path)
