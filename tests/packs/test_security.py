"""The security pack: failures by reason, PyJWT reasons, top-N sources, Django's login signals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from tocsin.sdk.metrics import Metrics
from tocsin.sdk.packs import Security
from tocsin.sdk.packs._topn import TopN
from tocsin.testing import fresh_metrics, sample_value, samples

ROOT = Path(__file__).resolve().parents[2]


def test_seed_004_names_with_an_empty_namespace() -> None:
    with fresh_metrics(prefix="django") as metrics:
        security = Security(namespace="")
        security.auth_failed("invalid_credentials", source="10.0.0.1")
        security.auth_failed("invalid_credentials", source="10.0.0.1")
        security.auth_succeeded()
        assert sample_value(metrics, "django_auth_failures_total", {"reason": "invalid_credentials"}) == 2
        assert sample_value(metrics, "django_auth_attempts_total", {"outcome": "success"}) == 1
        assert sample_value(metrics, "django_auth_failures_by_source", {"source": "10.0.0.1"}) == 2


def test_seed_001_names_under_kpi() -> None:
    with fresh_metrics(prefix="kpi") as metrics:
        security = Security()
        security.intrusion_attempt("sql_injection")
        security.rate_limited("login")
        security.input_sanitized("html")
        assert sample_value(metrics, "kpi_security_intrusion_attempts_total", {"kind": "sql_injection"}) == 1
        assert sample_value(metrics, "kpi_security_rate_limited_requests_total", {"limiter": "login"}) == 1
        assert sample_value(metrics, "kpi_security_sanitized_inputs_total", {"kind": "html"}) == 1


@pytest.mark.parametrize(
    ("token_of", "reason"),
    [
        (lambda: jwt.encode({"exp": 1}, "k" * 32, algorithm="HS256"), "expired"),
        (lambda: jwt.encode({"sub": "x"}, "wrong-key" * 4, algorithm="HS256"), "invalid_signature"),
        (lambda: "not.a.token", "malformed"),
        (lambda: jwt.encode({"aud": "other"}, "k" * 32, algorithm="HS256"), "invalid_audience"),
    ],
)
def test_pyjwt_errors_count_by_reason(metrics: Metrics, token_of: object, reason: str) -> None:
    security = Security()
    token = token_of()  # type: ignore[operator]
    with pytest.raises(jwt.InvalidTokenError) as caught:
        jwt.decode(token, "k" * 32, algorithms=["HS256"], audience="coach")
    assert security.jwt_failed(caught.value, source="10.0.0.9") == reason
    assert sample_value(metrics, "security_auth_failures_total", {"method": "jwt", "reason": reason}) == 1


def test_top_n_keeps_the_series_bounded_and_forgets_old_minutes() -> None:
    now = [0.0]
    top = TopN("f", "doc", "source", top=3, window=120, max_tracked=50, clock=lambda: now[0])
    for i in range(1000):  # a scan from a thousand addresses, plus three heavy hitters
        top.add(f"198.51.100.{i}")
    for heavy, count in (("10.0.0.1", 40), ("10.0.0.2", 30), ("10.0.0.3", 20)):
        for _ in range(count):
            top.add(heavy)
    totals = top.totals()
    assert set(totals) == {"10.0.0.1", "10.0.0.2", "10.0.0.3", "other"}
    assert totals["10.0.0.1"] == 40
    assert sum(totals.values()) == 1090
    now[0] = 61.0
    top.add("10.0.0.4")
    assert "10.0.0.4" not in top.totals()  # one failure is no top-3 source: it is in other
    assert sum(top.totals().values()) == 1091
    now[0] = 150.0  # minute 0 left the 2-minute window, minute 1 is still in it
    assert top.totals() == {"10.0.0.4": 1}


def test_two_security_objects_share_one_top_n_gauge(metrics: Metrics) -> None:
    Security().auth_failed("x", source="a")
    Security().auth_failed("x", source="a")
    assert samples(metrics, "security_auth_failures_by_source") == [({"source": "a"}, 2.0)]


SITE = """
import sys
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.test import RequestFactory
from prometheus_client import generate_latest
from tocsin.sdk.metrics import configure
from tocsin.sdk.packs import Security

configure(app="coach", prefix="django")
security = Security(namespace="")
security.connect_django()
security.connect_django()  # twice: still counted once
User.objects.create_user("ana", password="right-password")
request = RequestFactory().post("/login", REMOTE_ADDR="203.0.113.7")
assert authenticate(request, username="ana", password="wrong") is None
assert authenticate(request, username="nobody", password="x") is None
from django.contrib.auth.signals import user_logged_in
user = authenticate(request, username="ana", password="right-password")
user_logged_in.send(sender=User, request=request, user=user)
sys.stdout.write(generate_latest().decode())
"""


@pytest.mark.integration
def test_django_login_signals(tmp_path: Path) -> None:
    script = tmp_path / "site.py"
    script.write_text(SITE)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'django_auth_failures_total{method="django",reason="invalid_credentials"} 2.0' in out.stdout
    assert 'django_auth_attempts_total{method="django",outcome="success"} 1.0' in out.stdout
    assert 'django_auth_failures_by_source{source="203.0.113.7"} 2.0' in out.stdout
