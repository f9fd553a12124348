"""The example servers the tests run on threads (the demo's bookshop and its traffic, the coaching plan's
LLM) leave the ``random`` module's global state alone.

``tests/views``' session-wide ``live_stack`` keeps the demo's app and traffic running for the rest of
its xdist worker; they drew from the global ``random`` about 40 times a second, so a hypothesis test
in a later file of that worker (``test_hostile.py``, ``test_fuzz.py``) saw the state move during its
draw and failed with "Do not use the `random` module inside strategies".
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from tests.conftest import free_port, wait_for


@contextmanager
def _frozen_global_random() -> Iterator[None]:
    """Fails if anything moved the global random state meanwhile (the test itself must not)."""
    before = random.getstate()
    yield
    assert random.getstate() == before, "something drew from the global random"


def _requests_served(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return sum(
        float(v) for v in re.findall(r'^\w*http_requests_total\{[^}]*route="/api[^}]*\} (\S+)$', text, re.M)
    )


def test_the_demo_app_and_its_traffic_use_their_own_generator() -> None:
    pytest.importorskip("fastapi")
    from examples.demo.__main__ import start_app, traffic

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _frozen_global_random():
        server, thread = start_app(port)
        stop = threading.Event()
        driver = threading.Thread(target=traffic, args=(base, stop), daemon=True)
        driver.start()
        try:
            wait_for(lambda: _requests_served(base) >= 30, timeout=60, what="30 requests of the traffic")
        finally:
            stop.set()
            driver.join(10)
            server.should_exit = True
            thread.join(10)


def test_the_fake_llm_uses_its_own_generator() -> None:
    from examples.coaching_ai.llm_server import _Server

    server = _Server(("127.0.0.1", free_port()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "easy runs this week?"}]}
    try:
        with _frozen_global_random():
            answer = httpx.post(f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions", json=body)
            assert answer.status_code == 200 and answer.json()["id"].startswith("chatcmpl-")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
