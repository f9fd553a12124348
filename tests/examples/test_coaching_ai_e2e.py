"""Seed 004 end to end: the coaching AI app (Django API with JWT on PostgreSQL, the FastAPI AI coach over
an OpenAI-compatible test server, RAG, the Streamlit page), the real stack in the fast profile, a clean
period with zero notifications, then every fault of examples/coaching_ai/scenario.yaml in turn: the
expected alerts at the expected receivers (webhook, mail and Slack) in time, then resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.examples._e2e import needs_stack, run_example


@pytest.mark.integration
@pytest.mark.timeout(1500)
@needs_stack
def test_coaching_ai_faults_fire_exactly_the_plans_alerts(tmp_path: Path) -> None:
    run_example("coaching_ai", tmp_path)
