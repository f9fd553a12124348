"""The OCR example's pieces with the real Tesseract: clean pages read with a high confidence of
Tesseract's own, degraded scans with a low one, corrupt uploads refused with a reason, and a killed
Tesseract told apart from a bad document."""

from __future__ import annotations

import contextlib
import shutil
import threading

import psutil
import pytest

pytest.importorskip("pytesseract")
pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract-ocr")

from examples.ocr_service.documents import TYPES, corrupt_upload, draw, lines_for  # noqa: E402
from examples.ocr_service.ocr import OcrError, TesseractKilled, read_document  # noqa: E402


@pytest.mark.parametrize("kind", TYPES)
def test_a_clean_page_reads_back_with_a_high_confidence(kind: str) -> None:
    reading = read_document(draw(kind, 7))
    assert reading.confidence >= 90, reading
    assert lines_for(kind, 7)[0].split()[0] in reading.text


def test_a_degraded_scan_reads_with_a_low_confidence() -> None:
    assert read_document(draw("invoice", 7, degraded=True)).confidence < 60


def test_the_same_page_is_the_same_bytes() -> None:  # what the cache's SHA-256 keys rely on
    assert draw("letter", 3) == draw("letter", 3) != draw("letter", 4)


@pytest.mark.parametrize("n", range(3))
def test_corrupt_uploads_fail_with_a_reason(n: int) -> None:
    with pytest.raises(OcrError, match=r"empty upload|not a readable image") as caught:
        read_document(corrupt_upload(n))
    assert not isinstance(caught.value, TesseractKilled)


def test_a_killed_tesseract_is_not_the_documents_fault() -> None:
    def kill_tesseract() -> None:  # our own child, by its pid
        for _ in range(500):
            for child in psutil.Process().children():
                with contextlib.suppress(psutil.Error):
                    if child.name() == "tesseract":
                        child.kill()
                        return
            threading.Event().wait(0.005)

    killer = threading.Thread(target=kill_tesseract)
    killer.start()
    page = draw("invoice", 9, scale=2.0)

    def read_until_killed() -> None:
        for _ in range(50):
            read_document(page)

    with pytest.raises(TesseractKilled, match="signal 9"):
        read_until_killed()
    killer.join()


def test_cache_bypass_applies_until_sigterm_then_undoes(tmp_path: object) -> None:
    """The fault injector (examples/_faults.run) against the machine's Redis, under a prefix of its own."""
    import os
    import secrets
    import signal
    import subprocess
    import sys
    import time

    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"ocr:test-{secrets.token_hex(3)}:"
    client.set(f"{prefix}cache:abc", "{}")
    argv = [sys.executable, "-m", "examples.ocr_service.faults", "cache-bypass", "--prefix", prefix]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        assert proc.stdout is not None
        assert "1 cached results flushed" in proc.stdout.readline()
        assert client.hget(f"{prefix}settings", "cache_ttl") == b"0"
        assert client.exists(f"{prefix}cache:abc") == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert client.hget(f"{prefix}settings", "cache_ttl") is None  # undone
    finally:
        if proc.poll() is None:
            proc.kill()
            time.sleep(0.1)
        if proc.stdout is not None:
            proc.stdout.close()
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()
