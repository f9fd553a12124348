"""track_session in a real Streamlit server, with two real browser sessions (headless Chromium)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import free_ports, wait_for
from tests.packs.conftest import scrape

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
APP = """
import os
import streamlit as st
from tocsin.sdk.packs import Sessions, serve, track_session

@st.cache_resource          # once per server process: the app's metrics and their /metrics port
def sessions() -> Sessions:
    created = Sessions(namespace="coaching")
    serve(int(os.environ["METRICS_PORT"]))
    return created

session_id = track_session(sessions(), user_id=st.query_params.get("user", "anonymous"))
st.write(f"coaching session {session_id}")
"""


def test_two_browser_tabs_are_two_sessions(tmp_path: Path, browser: Any) -> None:
    app_port, metrics_port = free_ports(2)
    script = tmp_path / "app.py"
    script.write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "METRICS_PORT": str(metrics_port)}
    argv = [
        sys.executable, "-m", "streamlit", "run", str(script), "--server.headless=true",
        f"--server.port={app_port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    url = f"http://127.0.0.1:{app_port}"
    try:
        wait_for(
            lambda: httpx.get(url + "/_stcore/health", timeout=2).status_code == 200, 90, what="streamlit"
        )
        pages = []
        for user in ("ana", "bob"):
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{url}/?user={user}")
            page.get_by_text("coaching session").wait_for(timeout=60_000)
            pages.append(page)
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        samples = wait_for(lambda: scrape(metrics), 30, what="the app's metrics")
        assert samples[("coaching_sessions_total", ())] == 2
        assert samples[("coaching_active_sessions", ())] == 2
        assert samples[("coaching_active_users", ())] == 2
    finally:
        proc.terminate()
        proc.wait(20)
