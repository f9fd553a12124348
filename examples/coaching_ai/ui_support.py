"""What the Streamlit page keeps across reruns: its metrics, the API clients, the tokens.

Streamlit executes ``ui.py`` again on every interaction, so anything made there would be made again;
this module is imported once per process (``python -m examples.coaching_ai ui`` imports it before
starting Streamlit, which also serves ``/metrics`` from the start, not from the first visit).
Metrics, under prefix ``streamlit``: sessions (the sessions pack: ``streamlit_active_sessions``,
``streamlit_sessions_total``, session length), ``streamlit_page_load_seconds`` (the script's run,
from the first line to the last: what a visitor waits for), ``streamlit_chat_messages_total``,
``streamlit_ui_errors_total{upstream}`` and the calls to the two APIs (the client pack:
``streamlit_http_client_request_duration_seconds{target}``, timeouts, refused connections).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpx

from tocsin.sdk.metrics import configure
from tocsin.sdk.packs import HttpClient, Sessions, serve

from .store import PASSWORD

__all__ = ["UpstreamError", "ask_coach", "dashboard", "errors", "page_load", "sessions", "start"]

metrics = configure(app="coaching-ui", prefix="streamlit")
sessions = Sessions(window=60)
page_load = metrics.histogram(
    "page_load_seconds", "Streamlit page runs, first line to last (what a visitor waits for).",
    buckets=(0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 20),
)  # fmt: skip
chat_messages = metrics.counter("chat_messages_total", "Chat messages sent to the coach from the page.")
errors = metrics.counter("ui_errors_total", "Page runs that showed an error, by the API that failed.",
                         ["upstream"])  # fmt: skip
_calls = HttpClient()
_django = httpx.Client(
    base_url=os.environ.get("COACHING_DJANGO_URL", "http://127.0.0.1:8002"),
    transport=_calls.httpx_transport("django"), timeout=4.0,
)  # fmt: skip
_ai = httpx.Client(
    base_url=os.environ.get("COACHING_AI_URL", "http://127.0.0.1:8000"),
    transport=_calls.httpx_transport("fastapi"), timeout=4.0,
)  # fmt: skip
_tokens: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


class UpstreamError(Exception):
    """An API call of the page failed: ``upstream`` says which API."""

    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(message)
        self.upstream = upstream


def start() -> None:
    """``/metrics`` and ``/health`` on ``COACHING_UI_METRICS_PORT`` (once per process)."""
    serve(int(os.environ.get("COACHING_UI_METRICS_PORT", "8502")))


def _call(client: httpx.Client, upstream: str, method: str, url: str, **kwargs: Any) -> Any:
    try:
        answer = client.request(method, url, **kwargs)
    except httpx.HTTPError as err:
        raise UpstreamError(upstream, f"{upstream}: {type(err).__name__}") from None
    if answer.status_code >= 400:
        raise UpstreamError(upstream, f"{upstream}: HTTP {answer.status_code}")
    return answer.json()


def token(user: str) -> str:
    """The user's JWT from the Django API, reused until a minute before it expires."""
    with _lock:
        found = _tokens.get(user)
    if found and found[1] > time.time():
        return found[0]
    access = _call(_django, "django", "POST", "/api/v1/auth/token",
                   json={"username": user, "password": PASSWORD})["access"]  # fmt: skip
    with _lock:
        _tokens[user] = (access, time.time() + 14 * 60)
    return str(access)


def dashboard(user: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token(user)}"}
    return dict(_call(_django, "django", "GET", "/api/v1/dashboard", headers=headers))


def ask_coach(user: str, message: str) -> str:
    chat_messages.inc()
    headers = {"Authorization": f"Bearer {token(user)}"}
    answer = _call(_ai, "fastapi", "POST", "/v1/coach", json={"message": message}, headers=headers)
    return str(answer["answer"])
