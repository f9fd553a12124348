"""Seed 002 end to end: the eBook Scene Packer (Flask under gunicorn, PostgreSQL, Redis), the real stack
in the fast profile, a clean period with zero notifications, then every fault of
examples/ebook_flask/scenario.yaml in turn: the expected alerts at the expected receivers in time,
then resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.examples._e2e import needs_stack, run_example


@pytest.mark.integration
@pytest.mark.timeout(1500)
@needs_stack
def test_ebook_flask_faults_fire_exactly_the_plans_alerts(tmp_path: Path) -> None:
    run_example("ebook_flask", tmp_path)
