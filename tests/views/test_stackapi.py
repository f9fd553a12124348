"""StackAPI against a real Alertmanager: an HA pair whose first replica is down still takes silences."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_ports, wait_for

from tocsin.stack.components import find_binary
from tocsin.views._stackapi import StackAPI, UpstreamError

pytestmark = pytest.mark.integration


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    port = free_ports(1)[0]
    config = tmp_path / "am.yml"
    config.write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    proc = subprocess.Popen(
        [find_binary("alertmanager"), f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/-/ready").status_code == 200, timeout=20, what="alertmanager")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_silences_go_to_the_first_alertmanager_that_answers(alertmanager: str) -> None:
    dead = f"http://127.0.0.1:{free_ports(1)[0]}"
    silence = {
        "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
        "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "test", "comment": "failover",
    }  # fmt: skip

    async def scenario() -> None:
        api = StackAPI([], [dead, alertmanager])
        created = await api.am("POST", "/silences", json=silence)
        listed = await api.am("GET", "/silences")
        assert [s["id"] for s in listed] == [created["silenceID"]]
        await api.am("DELETE", f"/silence/{created['silenceID']}")
        assert (await api.am("GET", "/silences"))[0]["status"]["state"] == "expired"
        with pytest.raises(UpstreamError, match=r"refused: HTTP 4..: .*at least 1"):  # its own validation
            await api.am("POST", "/silences", json={**silence, "matchers": []})
        alone = StackAPI([], [dead])
        with pytest.raises(UpstreamError, match="Alertmanager is not answering"):
            await alone.am("GET", "/silences")
        await api.aclose()
        await alone.aclose()

    asyncio.run(scenario())
