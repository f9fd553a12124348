"""Auth and content negotiation in the shared core (no server needed)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

from tocsin.errors import ConfigurationError
from tocsin.sdk.exposition import Auth, Exposition, gzip_allowed


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_PASSWORD", "pa:ss wörd")
    auth = Auth.basic(username="prom", password_env="METRICS_PASSWORD")
    assert auth.check(_basic("prom", "pa:ss wörd"))
    assert auth.check("basic " + _basic("prom", "pa:ss wörd").split()[1])  # scheme is case-insensitive
    assert not auth.check(_basic("prom", "pa:ss"))
    assert not auth.check(_basic("other", "pa:ss wörd"))
    assert not auth.check(None)
    assert not auth.check("")
    assert not auth.check("Basic")
    assert not auth.check("Basic not-base64!")
    assert not auth.check("Bearer pa:ss wörd")


def test_missing_or_empty_secret_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET_VAR", raising=False)
    with pytest.raises(ConfigurationError, match="NO_SUCH_SECRET_VAR is not set"):
        Auth.basic(username="prom", password_env="NO_SUCH_SECRET_VAR")
    monkeypatch.setenv("EMPTY_SECRET_VAR", "")
    with pytest.raises(ConfigurationError, match="not set or empty"):
        Auth.bearer(token_env="EMPTY_SECRET_VAR")
    with pytest.raises(ConfigurationError, match="cannot read"):
        Auth.bearer(token_file=tmp_path / "absent")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigurationError, match="is empty"):
        Auth.bearer(token_file=tmp_path / "empty")
    with pytest.raises(ConfigurationError, match="exactly one"):
        Auth.bearer()
    with pytest.raises(ConfigurationError, match="exactly one"):
        Auth.bearer(token_env="X", token_file="y")
    with pytest.raises(ConfigurationError, match="username"):
        Auth.basic(username="a:b", password_env="X")


def test_bearer_file_is_trimmed_and_rotation_is_picked_up(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("first-token\n")
    auth = Auth.bearer(token_file=secret)
    assert auth.check("Bearer first-token")
    assert not auth.check("Bearer first-toke")
    secret.write_text("second-token-longer\n")
    os.utime(secret, ns=(1, 1))  # a different mtime even on coarse clocks
    assert auth.check("Bearer second-token-longer")
    assert not auth.check("Bearer first-token")
    secret.unlink()  # briefly missing during a rotation: the last secret still works
    assert auth.check("Bearer second-token-longer")


def test_secret_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_TOKEN", "very-secret-token")
    auth = Auth.bearer(token_env="METRICS_TOKEN")
    assert "very-secret" not in repr(auth)
    assert "very-secret" not in str(auth)
    exposition = Exposition(CollectorRegistry(), auth=auth)
    denied = exposition.respond(authorization="Bearer wrong")
    assert denied.status == 401
    assert b"very-secret" not in denied.body
    assert all("very-secret" not in value for _, value in denied.headers)


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("GZIP", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, identity", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("br, *", True),
        ("gzip;q=0, *", False),
        ("gzip;q=bogus", False),
    ],
)
def test_gzip_negotiation(header: str | None, allowed: bool) -> None:
    assert gzip_allowed(header) is allowed


def test_core_methods_and_name_filter() -> None:
    registry = CollectorRegistry()
    Counter("kept", "kept", registry=registry).inc()
    Counter("filtered_out", "filtered", registry=registry).inc()
    exposition = Exposition(registry)
    page = exposition.respond(query_string="name[]=kept_total")
    assert b"kept_total 1.0" in page.body
    assert b"filtered_out" not in page.body
    head = exposition.respond("HEAD")
    assert head.status == 200 and head.body == b""
    assert int(dict(head.headers)["Content-Length"]) > 0
    post = exposition.respond("POST")
    assert post.status == 405 and ("Allow", "GET, HEAD") in post.headers


def test_multiprocess_true_needs_the_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(ConfigurationError, match="PROMETHEUS_MULTIPROC_DIR"):
        Exposition(multiprocess=True)


def test_openmetrics_carries_exemplars_and_text_does_not() -> None:
    registry = CollectorRegistry()
    Counter("traced", "traced requests", registry=registry).inc(exemplar={"trace_id": "abc123"})
    exposition = Exposition(registry)
    om = exposition.respond(accept="application/openmetrics-text; version=1.0.0; charset=utf-8").body
    assert b'traced_total 1.0 # {trace_id="abc123"} 1.0' in om
    assert om.endswith(b"# EOF\n")
    text = exposition.respond(accept="text/plain").body
    assert b"traced_total 1.0\n" in text and b"abc123" not in text
