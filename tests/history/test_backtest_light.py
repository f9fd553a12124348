"""The console's backtest (``tocsin.history.backtest.light``): stdlib only, same answer as the CLI's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.history.conftest import Week
from tests.history.test_backtest_spec import _spec

from tocsin.history.backtest import backtest_spec
from tocsin.history.backtest.light import plan_requests, replay_answers, rule_models
from tocsin.spec import load_spec


def test_light_imports_no_pydantic_httpx_or_spec() -> None:
    heavy = ("pydantic", "httpx", "tocsin.spec", "tocsin.compile", "ruamel", "xxhash")
    code = f"import sys, tocsin.history.backtest.light; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_light_backtest_equals_the_cli_one(week: Week, tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "tocsin.yaml"))
    models = rule_models(spec, "OrdersQueue")
    assert [m["labels"]["severity"] for m in models] == ["critical", "warning"]
    requests = plan_requests(models, week.start, week.end, max_points=3000)  # several chunks per rule
    assert len(requests) > len(models)
    answers = []
    for r in requests:
        params = {k: r[k] for k in ("query", "start", "end", "step")}
        answers.append(httpx.get(f"{week.url}/api/v1/query_range", params=params).json()["data"]["result"])
    light = replay_answers(models, requests, answers, week.start, week.end)
    full = backtest_spec(week.url, spec, start=week.start, end=week.end, alert="OrdersQueue")
    assert [(r["severity"], r["fired"], r["firing_seconds"]) for r in light["rules"]] == [
        (s.severity, s.fired, s.firing_seconds) for s in full.summaries
    ]
    fired = sorted(e["fired_at"] for e in light["episodes"] if e["fired_at"] is not None)
    assert fired == sorted(
        e.fired_at for r in full.backtest.replays for e in r.episodes if e.fired_at is not None
    )
