"""Every way to expose /metrics, each under a real server: format, gzip, auth."""

from __future__ import annotations

import base64
import gzip

import httpx
import pytest
from exposition_servers import KINDS, PASSWORD, TOKEN, Serve

pytestmark = pytest.mark.integration


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("kind", KINDS)
def test_text_format_by_default_and_openmetrics_when_asked(serve: Serve, kind: str) -> None:
    url = serve(kind, "none")
    text = httpx.get(url, headers={"Accept-Encoding": "identity"})
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "exposition_test_total 3.0" in text.text
    assert "# EOF" not in text.text

    om = httpx.get(url, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.status_code == 200
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.endswith("# EOF\n")
    assert "exposition_test_total 3.0" in om.text


@pytest.mark.parametrize("kind", KINDS)
def test_gzip_only_when_accepted(serve: Serve, kind: str) -> None:
    url = serve(kind, "none")
    with httpx.Client() as client:
        # Read the raw bytes, so the check does not depend on httpx's own decoding.
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip"
        assert b"exposition_test_total 3.0" in gzip.decompress(raw)

        for refused in ("identity", "gzip;q=0, identity", ""):
            plain = client.get(url, headers={"Accept-Encoding": refused})
            assert "content-encoding" not in plain.headers, refused
            assert "exposition_test_total 3.0" in plain.text


AUTH_CASES = {
    # auth set-up: (secret, the right header, wrong headers, challenge)
    "basic-env": (
        PASSWORD,
        _basic("prometheus", PASSWORD),
        [_basic("prometheus", "nope"), _basic("admin", PASSWORD), "Bearer " + PASSWORD, "Basic !!"],
        'Basic realm="metrics", charset="UTF-8"',
    ),
    "bearer-file": (
        TOKEN,
        "Bearer " + TOKEN,
        ["Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x", _basic("prometheus", TOKEN), TOKEN],
        'Bearer realm="metrics"',
    ),
}


@pytest.mark.parametrize("auth", sorted(AUTH_CASES))
@pytest.mark.parametrize("kind", KINDS)
def test_auth_401_without_the_right_credentials(serve: Serve, kind: str, auth: str) -> None:
    secret, right, wrongs, challenge = AUTH_CASES[auth]
    url = serve(kind, auth)
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == challenge
    for wrong in wrongs:
        response = httpx.get(url, headers={"Authorization": wrong})
        assert response.status_code == 401, wrong
        assert secret not in response.text
        assert "exposition_test" not in response.text
    granted = httpx.get(url, headers={"Authorization": right})
    assert granted.status_code == 200
    assert "exposition_test_total 3.0" in granted.text
