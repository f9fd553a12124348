"""``tocsin backup`` / ``restore`` on a running stack of real binaries: back up, ``down``, wipe the
state dir, restore, ``up`` — the same samples, silences and alert history are back; a corrupted or a
truncated archive is refused, with nothing written."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import wait_for
from tests.stack._project import Project

pytestmark = pytest.mark.integration


def _silence(url: str) -> str:
    now = time.time()
    body = {
        "matchers": [{"name": "alertname", "value": "Maintenance", "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 86_400)),
        "createdBy": "ops-test",
        "comment": "kept across a restore",
    }
    return str(httpx.post(f"{url}/api/v2/silences", json=body, timeout=10).json()["silenceID"])


def _samples(url: str, start: float, end: float) -> list[Any]:
    params = {"query": "queue_length", "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "1"}
    return httpx.get(f"{url}/api/v1/query_range", params=params, timeout=10).json()["data"]["result"]  # type: ignore[no-any-return]


def _up(project: Project) -> None:
    up = project.tocsin("up", "--detach", "--profile", "fast", timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr


def test_backup_down_wipe_restore_up_brings_everything_back(project: Project, tmp_path: Path) -> None:
    _up(project)
    prom, am, receiver = project.url("prometheus"), project.url("alertmanager"), project.url("receiver")
    httpx.put(
        f"{project.url('pushgateway')}/metrics/job/worker", content="queue_length 42\n"
    ).raise_for_status()
    silence = _silence(am)
    notified = wait_for(
        lambda: httpx.get(f"{receiver}/api/v1/notifications", params={"alertname": "QueueTooLong"}).json(),
        timeout=60,
        what="the alert to reach the receiver",
    )
    window = wait_for(lambda: _samples(prom, time.time() - 30, time.time()), timeout=30, what="samples")
    first = float(window[0]["values"][0][0])
    start, end = first, first + 5
    before = _samples(prom, start, end)
    assert before and len(before[0]["values"]) >= 5

    archive = tmp_path / "backups" / "stack.tar.gz"
    out = project.tocsin("backup", "--out", str(archive), timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "running stack, TSDB snapshot" in out.stdout
    assert archive.stat().st_mode & 0o777 == 0o600
    assert not list((project.root / "data" / "prometheus" / "snapshots").iterdir())  # links removed

    assert project.tocsin("down").returncode == 0
    shutil.rmtree(project.root)
    restored = project.tocsin("restore", str(archive), timeout=120)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "silences: 1 (1 active)" in restored.stdout
    _up(project)

    assert _samples(prom, start, end) == before
    silences = httpx.get(f"{am}/api/v2/silences", timeout=10).json()
    assert [(s["id"], s["comment"]) for s in silences] == [(silence, "kept across a restore")]
    history = httpx.get(f"{receiver}/api/v1/notifications", params={"limit": 10000}).json()
    ids = {(n["sink"], n["id"]) for n in history}
    assert {(n["sink"], n["id"]) for n in notified} <= ids


def test_restore_refuses_a_running_stack_and_existing_state(project: Project, tmp_path: Path) -> None:
    _up(project)
    archive = tmp_path / "a.tar.gz"
    assert project.tocsin("backup", "--out", str(archive), "--quiet").returncode == 0
    running = project.tocsin("restore", str(archive))
    assert running.returncode == 2 and "a stack is running from" in running.stderr
    assert project.tocsin("down").returncode == 0
    kept = project.tocsin("restore", str(archive))
    assert kept.returncode == 2 and "already holds the TSDB" in kept.stderr and "--force" in kept.stderr
    forced = project.tocsin("restore", str(archive), "--force")
    assert forced.returncode == 0, forced.stderr


def _corrupt(source: Path, target: Path, *, at: float, truncate: bool = False) -> Path:
    data = bytearray(source.read_bytes())
    cut = int(len(data) * at)
    if truncate:
        del data[cut:]
    else:
        data[cut] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


def test_corrupt_and_truncated_archives_are_refused(project: Project, tmp_path: Path) -> None:
    _up(project)
    httpx.put(f"{project.url('pushgateway')}/metrics/job/w", content="queue_length 1\n").raise_for_status()
    time.sleep(2)
    gz, tar = tmp_path / "ok.tar.gz", tmp_path / "ok.tar"
    assert project.tocsin("backup", "--out", str(gz), "--quiet").returncode == 0
    assert project.tocsin("backup", "--out", str(tar), "--quiet").returncode == 0
    assert project.tocsin("down").returncode == 0
    shutil.rmtree(project.root)
    cases = {
        "flipped byte in gzip": (_corrupt(gz, tmp_path / "a.tar.gz", at=0.5), "corrupt"),
        "truncated gzip": (_corrupt(gz, tmp_path / "b.tar.gz", at=0.6, truncate=True), "truncated"),
        "flipped byte in tar": (_corrupt(tar, tmp_path / "c.tar", at=0.5), "checksum mismatch"),
        "truncated tar": (_corrupt(tar, tmp_path / "d.tar", at=0.7, truncate=True), "truncated"),
        "not an archive": (tmp_path / "e.tar.gz", "not a readable archive"),
    }
    (tmp_path / "e.tar.gz").write_text("hello")
    for case, (path, word) in cases.items():
        out = project.tocsin("restore", str(path))
        assert out.returncode == 2, (case, out.stdout, out.stderr)
        assert word in out.stderr and "nothing was restored" in out.stderr, (case, out.stderr)
        assert "Traceback" not in out.stderr
        assert not (project.root / "data" / "prometheus").exists(), case
        assert not (project.root / "alerts.sqlite").exists(), case
    assert project.tocsin("restore", str(tar)).returncode == 0
