"""The Streamlit page (seed 004's UI): the week's training from the Django API, and a chat with the coach.

Run by ``python -m examples.coaching_ai ui`` (which serves its metrics); ``?user=athlete03`` picks the
demo user. Every run is timed (``streamlit_page_load_seconds``) and marks its Streamlit session active.
"""

from __future__ import annotations

import time

import streamlit as st

from examples.coaching_ai import ui_support as ui
from tocsin.sdk.packs import track_session

started = time.perf_counter()
user = str(st.query_params.get("user", "athlete01"))[:40]
track_session(ui.sessions, user)
st.title("Coaching IA")
st.caption(f"Signed in as {user}")
try:
    data = ui.dashboard(user)
    st.metric("Minutes this week", data["week_minutes"])
    st.bar_chart({kind: v["minutes"] for kind, v in data["by_kind"].items()})
except ui.UpstreamError as err:
    ui.errors.labels(err.upstream).inc()
    st.error(f"Your training data is unavailable right now ({err})")
prompt = st.chat_input("Ask your coach")
if prompt:
    st.chat_message("user").write(prompt)
    try:
        st.chat_message("assistant").write(ui.ask_coach(user, prompt))
    except ui.UpstreamError as err:
        ui.errors.labels(err.upstream).inc()
        st.error(f"The coach is unavailable right now ({err})")
ui.page_load.observe(time.perf_counter() - started)
