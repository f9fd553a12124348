"""Shipping to Loki's push API: batches, labels, retry on 5xx, no retry on 400 (counted as dropped).

No Loki binary exists here (FACTS.md), so the receiving end is a small HTTP server that records what it
is sent and answers as Loki's push endpoint does (204, or an error status chosen by the test).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.logwatch._helpers import load_yaml

from tocsin.logwatch import Watcher


class _Push(BaseHTTPRequestHandler):
    statuses: list[int]
    bodies: list[dict[str, object]]
    headers_seen: list[dict[str, str]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.statuses.pop(0) if self.statuses else 204
        self.headers_seen.append(dict(self.headers))
        if status == 204 and self.path == "/loki/api/v1/push":
            self.bodies.append(json.loads(body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loki() -> Iterator[type[_Push]]:
    handler = type("Handler", (_Push,), {"statuses": [], "bodies": [], "headers_seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def _watcher(tmp_path: Path, url: str) -> Watcher:
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "logwatch.yaml").write_text(
        "files: [{path: a.log, source: archiver, level: '\\[(?P<level>[A-Z]+)\\]'}]\n"
        "store: {enabled: false}\n"
        f"loki: {{url: '{url}', labels: {{job: archiver}}, batch_wait: 100ms, tenant: team-a,"
        " username: tocsin, password_file: secret}\n"
    )
    watcher = Watcher(load_yaml(tmp_path / "logwatch.yaml"), tmp_path / "st", tmp_path)
    assert watcher.loki is not None
    watcher.loki._backoff = 0.05
    return watcher


def test_lines_are_pushed_with_labels_after_a_retry(tmp_path: Path, loki: type[_Push]) -> None:
    loki.statuses.extend([503, 429])
    (tmp_path / "a.log").write_text(
        "2025-10-16 12:35:11 [ERROR] ❌ Failed to connect to MongoDB\n"
        "2025-10-16 12:35:12 [INFO] ✅ Connected\n"
    )
    watcher = _watcher(tmp_path, loki.url)  # type: ignore[attr-defined]
    watcher.poll()
    wait_for(lambda: loki.bodies, what="a push accepted")
    streams = {s["stream"]["level"]: s for s in loki.bodies[0]["streams"]}  # type: ignore[index]
    assert streams["error"]["stream"] == {"job": "archiver", "source": "archiver", "level": "error"}
    ((ns, line),) = streams["error"]["values"]
    assert line.endswith("❌ Failed to connect to MongoDB") and ns.endswith("000000000") and len(ns) == 19
    assert len(loki.headers_seen) == 3  # 503, 429, then accepted
    assert loki.headers_seen[-1]["X-Scope-OrgID"] == "team-a"
    assert loki.headers_seen[-1]["Authorization"].startswith("Basic ")
    watcher.close()


def test_a_rejected_batch_is_dropped_and_counted(tmp_path: Path, loki: type[_Push]) -> None:
    loki.statuses.append(400)
    (tmp_path / "a.log").write_text("[INFO] one\n[INFO] two\n")
    watcher = _watcher(tmp_path, loki.url)  # type: ignore[attr-defined]
    watcher.poll()
    wait_for(lambda: watcher.loki is not None and watcher.loki.dropped == 2, what="the batch dropped")
    with open(tmp_path / "a.log", "a") as f:
        f.write("[INFO] three\n")
    watcher.poll()
    assert watcher.counts.stats["loki_dropped"] == 2
    wait_for(lambda: loki.bodies, what="the next batch accepted")
    assert len(loki.headers_seen) == 2
    watcher.close()
