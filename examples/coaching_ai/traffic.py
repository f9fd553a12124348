"""Athletes using the app, at fixed rates whatever the answers' latency (requests run in a pool, so a
slow upstream does not slow the load down, as real users would not wait for each other):

- the Django API, 5 requests/s: profile, workouts, dashboard, a logged workout now and then (JWT login
  per user, again when the token expires);
- the AI coach, a question every 10 s and a training plan every 15 s (≈ 350 tokens/min, 500 at most
  over the fast profile's 20 s windows, under the seed's 1,000/min warning; ≈ 1 €/day);
- the knowledge search (RAG), 1/s;
- a Streamlit visit every 1.5 s: a real Streamlit session over its WebSocket (``/_stcore/stream``),
  as a browser opens one: the page runs, marks the session active and times itself.

Failures are counted and printed every 30 s; the traffic itself never stops on them.
"""

from __future__ import annotations

import collections
import random
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tocsin.signals import on_signals

from .store import PASSWORD, USERS

__all__ = ["main", "streamlit_visit"]

_QUESTIONS = [
    "How should I pace easy running during the week?",
    "What should I eat before long training sessions?",
    "How many strength sessions each week support endurance training?",
    "How do I recover after hard sessions?",
    "How can I improve my swimming breathing?",
    "What cadence should cycling riders keep?",
]
_SEARCHES = ["hydrate electrolytes", "recovery rest", "running volume", "strength squats", "cadence", "sleep"]
_GOALS = ["10k under 50 min", "first marathon", "swim 2 km", "lose 5 kg"]


def streamlit_visit(base_url: str, user: str, timeout: float = 15.0) -> float:
    """One page visit over Streamlit's WebSocket protocol; the seconds until the script finished."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    started = time.perf_counter()
    url = base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
    with connect(url, subprotocols=["streamlit"], open_timeout=timeout, close_timeout=1) as ws:  # type: ignore[list-item]
        message = BackMsg()
        message.rerun_script.query_string = f"user={user}"
        message.rerun_script.page_script_hash = ""
        ws.send(message.SerializeToString())
        deadline = started + timeout
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(ws.recv(timeout=max(0.1, deadline - time.perf_counter())))
            if forward.WhichOneof("type") == "script_finished":
                return time.perf_counter() - started


class Traffic:
    def __init__(self, django: str, ai: str, ui: str) -> None:
        self.django = httpx.Client(base_url=django, timeout=15)
        self.ai = httpx.Client(base_url=ai, timeout=15)
        self.ui = ui
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.rng = random.Random()

    def _token(self, user: str, fresh: bool = False) -> str:
        with self.lock:
            found = None if fresh else self.tokens.get(user)
        if found:
            return found
        answer = self.django.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
        answer.raise_for_status()
        access = str(answer.json()["access"])
        with self.lock:
            self.tokens[user] = access
        return access

    def _authed(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        user = self.rng.choice(USERS)
        answer = client.request(
            method, url, headers={"Authorization": f"Bearer {self._token(user)}"}, **kwargs
        )
        if answer.status_code == 401:  # expired: log in again, once
            headers = {"Authorization": f"Bearer {self._token(user, fresh=True)}"}
            answer = client.request(method, url, headers=headers, **kwargs)
        return answer

    def django_call(self) -> str:
        pick = self.rng.random()
        if pick < 0.1:
            body = {
                "kind": self.rng.choice(["run", "bike", "swim", "strength"]),
                "minutes": self.rng.randint(20, 80),
            }
            answer = self._authed(self.django, "POST", "/api/v1/workouts", json=body)
        else:
            path = ["/api/v1/profile", "/api/v1/workouts", "/api/v1/dashboard"][int(pick * 30) % 3]
            answer = self._authed(self.django, "GET", path)
        return f"django {answer.status_code}"

    def coach(self) -> str:
        answer = self._authed(self.ai, "POST", "/v1/coach", json={"message": self.rng.choice(_QUESTIONS)})
        return f"coach {answer.status_code}"

    def plan(self) -> str:
        answer = self._authed(self.ai, "POST", "/v1/plan", json={"goal": self.rng.choice(_GOALS), "weeks": 4})
        return f"plan {answer.status_code}"

    def search(self) -> str:
        answer = self._authed(self.ai, "GET", "/v1/knowledge", params={"q": self.rng.choice(_SEARCHES)})
        return f"knowledge {answer.status_code}"

    def visit(self) -> str:
        streamlit_visit(self.ui, self.rng.choice(USERS))
        return "streamlit ok"

    def run(self, stop: threading.Event) -> None:
        schedule: list[tuple[float, Callable[[], str]]] = [
            (0.2, self.django_call), (10.0, self.coach), (15.0, self.plan), (1.0, self.search),
            (1.5, self.visit),
        ]  # fmt: skip
        due = [time.monotonic() + self.rng.uniform(0, every) for every, _ in schedule]
        last_report = time.monotonic()
        with ThreadPoolExecutor(max_workers=48) as pool:
            while not stop.is_set():
                now = time.monotonic()
                for i, (every, call) in enumerate(schedule):
                    if now >= due[i]:
                        due[i] += every
                        pool.submit(self._counted, call)
                if now - last_report >= 30:
                    last_report = now
                    with self.lock:
                        print("traffic:", dict(sorted(self.outcomes.items())), flush=True)
                        self.outcomes.clear()
                stop.wait(max(0.01, min(due) - time.monotonic()))

    def _counted(self, call: Callable[[], str]) -> None:
        try:
            outcome = call()
        except Exception as exc:
            outcome = f"{call.__name__} {type(exc).__name__}"
        with self.lock:
            self.outcomes[outcome] += 1


def main(django: str, ai: str, ui: str) -> int:
    stop = threading.Event()
    on_signals(stop.set, (signal.SIGTERM,))
    try:
        Traffic(django, ai, ui).run(stop)
    except KeyboardInterrupt:
        pass
    return 0
