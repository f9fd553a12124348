"""The sessions pack: a sliding window computed at scrape, bounded memory, and Streamlit's own sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Sessions, track_session
from tocsin.testing import fresh_metrics, sample_value


def test_active_sessions_and_users_over_the_window(metrics: Metrics) -> None:
    now = [0.0]
    sessions = Sessions(window=300, clock=lambda: now[0])
    sessions.seen("s1", "ana")
    sessions.seen("s2", "ana")
    sessions.seen("s3", "bob")
    assert sample_value(metrics, "active_sessions") == 3
    assert sample_value(metrics, "active_users") == 2
    now[0] = 200.0
    sessions.seen("s1", "ana")
    now[0] = 400.0  # s2 and s3 idle for 400 s: ended, their duration (0 s) recorded
    assert sample_value(metrics, "active_sessions") == 1
    assert sample_value(metrics, "active_users") == 1
    sessions.ended("s1")  # logout: 200 s from first to last activity
    assert sample_value(metrics, "active_sessions") == 0
    assert sample_value(metrics, "sessions_total") == 3
    assert sample_value(metrics, "session_duration_seconds_count") == 3
    assert sample_value(metrics, "session_duration_seconds_sum") == 200


def test_memory_stays_bounded(metrics: Metrics) -> None:
    sessions = Sessions(max_tracked=100)
    for i in range(10_000):
        sessions.seen(f"s{i}", f"u{i}")
    assert sessions.active() == (100, 100)
    assert sample_value(metrics, "sessions_total") == 10_000


def test_seed_004_coaching_sessions_total() -> None:
    with fresh_metrics() as metrics:
        Sessions(namespace="coaching").seen("s")
        assert sample_value(metrics, "coaching_sessions_total") == 1
        assert sample_value(metrics, "coaching_active_sessions") == 1


def test_outside_streamlit_track_session_does_nothing(metrics: Metrics) -> None:
    assert track_session(Sessions()) is None


APP = """
import streamlit as st
from tocsin.sdk.packs import Sessions, track_session

@st.cache_resource          # one Sessions for every session of the app, as a Streamlit app keeps it
def sessions() -> Sessions:
    return Sessions()

session_id = track_session(sessions(), user_id="ana")
st.write(f"session {session_id}")
"""


@pytest.mark.integration
def test_streamlit_reruns_are_one_session(tmp_path: Path) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_resource.clear()
    with fresh_metrics() as metrics:
        script = tmp_path / "app.py"
        script.write_text(APP)
        app = AppTest.from_file(str(script))
        app.run(timeout=30)
        app.run(timeout=30)  # a rerun of the same session (AppTest has one session id)
        assert not app.exception
        assert app.markdown[0].value == "session test session id"
        assert sample_value(metrics, "sessions_total") == 1
        assert sample_value(metrics, "active_sessions") == 1
        assert sample_value(metrics, "active_users") == 1
