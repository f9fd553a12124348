"""``make demo``: it runs the OCR example (seed 000), every URL it prints opens, the console first, the
commands it prints run, the service's health holds, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests._demo import demo_running, printed_urls

ROOT = Path(__file__).resolve().parents[1]


def _make_demo_argv() -> list[str]:
    """What `make demo` runs (its recipe's last line), as ``python -m tocsin ...``."""
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None, "the Makefile has no demo target"
    command = shlex.split(recipe.group(1).strip().splitlines()[-1])
    assert command[0] == "$(BIN)/tocsin", command
    return [sys.executable, "-m", "tocsin", *command[1:]]


def test_make_demo_runs_the_ocr_example() -> None:
    assert _make_demo_argv()[3:] == ["demo", "ocr_service"]


@pytest.mark.integration
@pytest.mark.timeout(600)
@pytest.mark.skipif(
    any(shutil.which(b) is None for b in ("prometheus", "prometheus-alertmanager", "tesseract")),
    reason="needs Debian's prometheus, prometheus-alertmanager and tesseract-ocr (make system)",
)
def test_every_url_the_demo_prints_opens(tmp_path: Path) -> None:
    argv = [*_make_demo_argv(), "--any-ports", "--state-dir", str(tmp_path)]
    with demo_running(argv, ROOT, tmp_path) as output:
        urls = dict(reversed(printed_urls(output)))  # the first line offering a label wins
        assert printed_urls(output)[0][0] == "console", output  # the console first
        assert {"OCR service", "OCR health", "OCR metrics", "Prometheus", "runbook"} <= set(urls)
        with httpx.Client(timeout=15) as http:
            for label, url in urls.items():
                answer = http.get(url)
                assert answer.status_code == 200, f"{label}: {url} answered {answer.status_code}"
                assert answer.content, f"{label}: {url} is empty"
            assert "ocr_documents_processed_total" in _eventually(http, urls["OCR metrics"], "ocr_documents")
            _health_story(http, urls["OCR health"])
        text = "".join(output)
        alerts = re.search(r"\(or: (.+ alerts .+)\)", text)
        assert alerts is not None, text
        listed = subprocess.run(shlex.split(alerts.group(1)), capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "tocsin demo ocr_service --fault slow-processing" in text.replace(sys.executable + " -m ", "")


def _eventually(http: httpx.Client, url: str, text: str) -> str:
    """The page at ``url`` once it contains ``text`` (the traffic's first document takes a moment)."""
    deadline = time.monotonic() + 30
    while text not in (page := http.get(url).text):
        assert time.monotonic() < deadline, f"{url} never showed {text!r}"
        time.sleep(0.3)
    return page


def _health_story(http: httpx.Client, health: str) -> None:
    """Readiness reports Redis, the workers and Tesseract, each up; liveness answers on its own."""
    ready = http.get(f"{health}/ready")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert {"redis", "workers", "tesseract"} <= set(checks), checks
    assert all(c["status"] == "up" for c in checks.values()), checks
    assert http.get(f"{health}/live").status_code == 200
