"""Seed 004's parts on their own, without the stack: the OpenAI-compatible test server driven by the real
``openai`` client through tocsin's llm pack (tokens, cost, outcomes as the faults change it), the demo
hasher (no hardening on wrong passwords), and the Streamlit visit over its WebSocket protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from examples._harness.run import ROOT
from examples.coaching_ai.llm_server import MODELS, _Server
from tests.conftest import free_port

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import LLM, Price, instrument_openai
from tocsin.testing import sample_value

openai = pytest.importorskip("openai")


@pytest.fixture
def llm_url() -> Iterator[str]:
    server = _Server(("127.0.0.1", free_port()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _client(url: str, metrics: Metrics, timeout: float = 5.0) -> tuple[object, LLM]:
    llm = LLM(namespace="openai", currency="EUR", prices={"gpt-4o": Price(prompt=2.5, completion=10.0)},
              metrics=metrics)  # fmt: skip
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="local", timeout=timeout, max_retries=0)
    return instrument_openai(client, llm), llm


def _ask(client: object, text: str = "How should I plan easy runs this week?") -> object:
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])  # type: ignore[attr-defined]


def test_answers_carry_usage_that_the_pack_counts_and_prices(llm_url: str, tocsin_metrics: Metrics) -> None:
    client, _ = _client(llm_url, tocsin_metrics)
    reply = _ask(client)
    usage = reply.usage  # type: ignore[attr-defined]
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert reply.choices[0].message.content.startswith("Coach:")  # type: ignore[attr-defined]
    labels = {"model": "gpt-4o", "provider": "openai"}
    assert (
        sample_value(tocsin_metrics, "openai_tokens_total", {**labels, "type": "completion"})
        == usage.completion_tokens
    )
    cost = sample_value(tocsin_metrics, "openai_cost_total", {**labels, "currency": "EUR"})
    assert cost == pytest.approx((usage.prompt_tokens * 2.5 + usage.completion_tokens * 10.0) / 1e6)


def test_the_faults_controls_change_what_the_client_sees(llm_url: str, tocsin_metrics: Metrics) -> None:
    client, _ = _client(llm_url, tocsin_metrics, timeout=1.0)
    normal = _ask(client).usage.completion_tokens  # type: ignore[attr-defined]
    httpx.put(f"{llm_url}/_control", json={"completion_factor": 10}).raise_for_status()
    assert _ask(client).usage.completion_tokens >= 9 * normal  # type: ignore[attr-defined]
    httpx.put(f"{llm_url}/_control", json={"error_rate": 1, "error_status": 429}).raise_for_status()
    with pytest.raises(openai.RateLimitError):
        _ask(client)
    httpx.put(f"{llm_url}/_control", json={"error_rate": 0, "latency": 2}).raise_for_status()
    with pytest.raises(openai.APITimeoutError):
        _ask(client)
    httpx.delete(f"{llm_url}/_control").raise_for_status()
    assert _ask(client).usage.completion_tokens == normal  # type: ignore[attr-defined]
    outcomes = {o: sample_value(tocsin_metrics, "openai_requests_total", {"outcome": o}) for o in
                ("success", "error", "timeout")}  # fmt: skip
    assert outcomes == {"success": 3, "error": 1, "timeout": 1}


def test_half_the_requests_fail_evenly_and_bad_input_is_a_400(llm_url: str) -> None:
    httpx.put(f"{llm_url}/_control", json={"error_rate": 0.5}).raise_for_status()
    body = {"model": MODELS[0], "messages": [{"role": "user", "content": "hi"}]}
    codes = [httpx.post(f"{llm_url}/v1/chat/completions", json=body).status_code for _ in range(6)]
    assert codes.count(500) == 3 and codes.count(200) == 3
    assert httpx.put(f"{llm_url}/_control", json={"error_status": 418}).status_code == 400
    assert httpx.post(f"{llm_url}/v1/chat/completions", json={"model": "gpt-9"}).status_code == 404
    assert httpx.post(f"{llm_url}/v1/chat/completions", content=b"[1]").status_code == 400
    assert httpx.post(f"{llm_url}/v1/chat/completions", json={"model": MODELS[0]}).status_code == 400


_HASHER_CHECK = """
import time
from django.conf import settings
settings.configure(PASSWORD_HASHERS=["examples.coaching_ai.django_api.hashers.DemoPBKDF2PasswordHasher"])
from django.contrib.auth.hashers import check_password
from examples.coaching_ai.store import password_hash
stored = password_hash("right", "salt0001")
assert check_password("right", stored)
started = time.perf_counter()
assert not any(check_password(f"wrong{i}", stored) for i in range(20))
print(time.perf_counter() - started)
"""


def test_the_demo_hasher_does_not_harden_wrong_passwords() -> None:
    """Django's own hasher would spend 1,000,000 iterations on each wrong password against the demo's
    1,000-iteration hashes: the brute-force fault would then slow the whole API down. (Own process:
    ``settings.configure()`` happens once per interpreter.)"""
    done = subprocess.run([sys.executable, "-c", _HASHER_CHECK], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 5  # 20 hardened tries take 10 s and more


_API_CHECK = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "examples.coaching_ai.django_api.settings"
import django
django.setup()
from django.test import Client
from examples.coaching_ai.django_api import views
from examples.coaching_ai.store import PASSWORD
from tocsin.testing import sample_value
api = Client(REMOTE_ADDR="127.0.0.1")
def post(path, body, **extra):
    return api.post(path, body, content_type="application/json", **extra)
codes = {
    "bad json": post("/api/v1/auth/token", "{not json").status_code,
    "injection": post("/api/v1/auth/token", {"username": "admin' OR 1=1 --", "password": "x"},
                      HTTP_X_FORWARDED_FOR="203.0.113.7").status_code,
    "wrong password": post("/api/v1/auth/token", {"username": "athlete01", "password": "nope"}).status_code,
    "no token": api.get("/api/v1/profile").status_code,
    "forged": api.get("/api/v1/profile", HTTP_AUTHORIZATION="Bearer a.b.c").status_code,
}
token = post("/api/v1/auth/token", {"username": "athlete01", "password": PASSWORD}).json()["access"]
auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
codes["profile"] = api.get("/api/v1/profile", **auth).status_code
codes["bad workout"] = post("/api/v1/workouts", {"kind": "teleport", "minutes": 5}, **auth).status_code
codes["workout"] = post("/api/v1/workouts", {"kind": "run", "minutes": 30}, **auth).status_code
reasons = {r: sample_value(views.metrics, "django_auth_failures_total", {"reason": r})
           for r in ("invalid_input", "invalid_credentials", "missing_token", "malformed")}
intrusions = sample_value(views.metrics, "django_intrusion_attempts_total", {"kind": "sql_injection"})
print(json.dumps({"codes": codes, "reasons": reasons, "intrusions": intrusions}))
"""


@pytest.mark.integration
def test_the_api_refuses_bad_input_and_counts_each_failure_by_reason(tmp_path: Path) -> None:
    """The Django API on a database of its own: bad JSON and injections are 400s (the injection
    counted as an intrusion), wrong passwords and bad tokens 401s, each failure under its reason."""
    from examples.coaching_ai.store import create_database, drop_database, dsn

    name = f"tocsin_coaching_parts_{os.getpid()}"
    for key in ("jwt-signing-key", "django-secret-key"):
        (tmp_path / key).write_text("k" * 48, encoding="utf-8")
    try:
        create_database(dsn(name))
    except Exception as exc:  # psycopg.OperationalError: no server here
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({type(exc).__name__})")
    env = {**os.environ, "COACHING_DB": name, "COACHING_LOG_DIR": str(tmp_path / "logs"),
           "COACHING_JWT_KEY_FILE": str(tmp_path / "jwt-signing-key"),
           "COACHING_DJANGO_KEY_FILE": str(tmp_path / "django-secret-key")}  # fmt: skip
    try:
        done = subprocess.run([sys.executable, "-c", _API_CHECK], capture_output=True, text=True, timeout=120,
                              cwd=ROOT, env=env, check=False)  # fmt: skip
    finally:
        drop_database(dsn(name))
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["codes"] == {
        "bad json": 400, "injection": 400, "wrong password": 401, "no token": 401, "forged": 401,
        "profile": 200, "bad workout": 400, "workout": 201,
    }  # fmt: skip
    assert found["reasons"] == {
        "invalid_input": 1,
        "invalid_credentials": 1,
        "missing_token": 1,
        "malformed": 1,
    }
    assert found["intrusions"] == 1
    assert (
        "Auth failure reason=invalid_input from 203.0.113.7" in (tmp_path / "logs" / "django.log").read_text()
    )
