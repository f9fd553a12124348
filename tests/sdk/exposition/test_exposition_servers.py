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


@pytest.mark.parametrize("kind", KINDS)
def test_basic_auth_from_env(serve: Serve, kind: str) -> None:
    url = serve(kind, "basic-env")
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Basic realm="metrics"')
    for wrong in (_basic("prometheus", "nope"), _basic("admin", PASSWORD), "Bearer " + PASSWORD, "Basic !!"):
        response = httpx.get(url, headers={"Authorization": wrong})
        assert response.status_code == 401, wrong
        assert PASSWORD not in response.text
        assert "exposition_test" not in response.text
    right = httpx.get(url, headers={"Authorization": _basic("prometheus", PASSWORD)})
    assert right.status_code == 200
    assert "exposition_test_total 3.0" in right.text


@pytest.mark.parametrize("kind", KINDS)
def test_bearer_auth_from_file(serve: Serve, kind: str) -> None:
    url = serve(kind, "bearer-file")
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="metrics"'
    for wrong in ("Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x", _basic("prometheus", TOKEN), TOKEN):
        response = httpx.get(url, headers={"Authorization": wrong})
        assert response.status_code == 401, wrong
        assert TOKEN not in response.text
    right = httpx.get(url, headers={"Authorization": "Bearer " + TOKEN})
    assert right.status_code == 200
    assert "exposition_test_total 3.0" in right.text
