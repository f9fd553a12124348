"""Silences survive a kill -9 of a lone Alertmanager: snapshot file written back (ids kept), API fallback."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_port, wait_for

from tocsin.stack.components import find_binary
from tocsin.stack.silences import SilenceKeeper

pytestmark = pytest.mark.integration

CONFIG = "route: {receiver: none}\nreceivers: [{name: none}]\n"


@contextmanager
def alertmanager(tmp: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    (tmp / "am.yml").write_text(CONFIG)
    argv = [
        find_binary("alertmanager"),
        f"--config.file={tmp / 'am.yml'}",
        f"--storage.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/-/ready").status_code == 200, what="ready")
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGKILL)  # a crash: Alertmanager writes no snapshot
            proc.wait()


def _silence(name: str, value: str, *, regex: bool, equal: bool) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "matchers": [{"name": name, "value": value, "isRegex": regex, "isEqual": equal}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=2)).isoformat(),
        "createdBy": "ops",
        "comment": f"{name} {value}",
    }


def _listing(url: str) -> dict[str, dict[str, object]]:
    return {s["comment"]: s for s in httpx.get(f"{url}/api/v2/silences").json()}


def test_silences_come_back_after_a_crash(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    keeper = SilenceKeeper(tmp_path / "silences.json")
    kinds = [(True, True), (False, True), (True, False), (False, False)]  # =~, =, !~, !=
    with alertmanager(tmp_path, port):
        for i, (regex, equal) in enumerate(kinds):
            httpx.post(f"{url}/api/v2/silences", json=_silence("job", f"j{i}.*", regex=regex, equal=equal))
        gone = httpx.post(f"{url}/api/v2/silences", json=_silence("job", "old", regex=False, equal=True))
        httpx.delete(f"{url}/api/v2/silence/{gone.json()['silenceID']}").raise_for_status()
        keeper.snapshot(url)
        before = _listing(url)
    assert not (tmp_path / "data" / "silences").exists()  # lost without the keeper

    assert keeper.write_snapshot_file(tmp_path / "data") == 5
    with alertmanager(tmp_path, port):
        after = _listing(url)
    assert after.keys() == before.keys()
    for comment, silence in before.items():
        for key in ("id", "matchers", "startsAt", "endsAt", "createdBy", "status"):
            assert after[comment][key] == silence[key], (comment, key)
    assert after["job old"]["status"] == {"state": "expired"}

    (tmp_path / "data" / "silences").unlink()  # no snapshot at all: the API fallback re-creates them
    with alertmanager(tmp_path, port):
        assert keeper.restore(url) == 4
        recreated = _listing(url)
    assert sorted(recreated) == sorted(c for c in before if c != "job old")
    assert all(recreated[c]["matchers"] == before[c]["matchers"] for c in recreated)
