"""``make demo``: the console's URL comes first and the demo's dashboard has data within seconds."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.conftest import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_prints_the_console_first_and_its_panels_fill_in_seconds(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "examples.demo", "--any-ports", "--state-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    try:
        lines: list[str] = []
        while not any("Ctrl-C to stop" in line for line in lines):
            line = demo.stdout.readline()
            assert line, "the demo ended early:\n" + "".join(lines)
            lines.append(line)
        urls = [line for line in lines if "  http://127.0.0.1:" in line and not line.startswith(" ")]
        assert urls[0].startswith("console "), urls
        console = urls[0].split()[1]
        assert console.endswith("/dashboards/bookshop-overview")
        up = time.monotonic()

        def all_panels() -> bool:
            answer = httpx.get(console.replace("/dashboards/", "/api/dashboards/"), timeout=10).json()
            return all(
                p.get("series") or (p.get("rows") and any(r["value"] is not None for r in p["rows"]))
                for p in answer["panels"]
            )

        wait_for(all_panels, timeout=60, interval=0.5, what="every panel of the demo dashboard to have data")
        print(f"demo dashboard full {time.monotonic() - up:.1f} s after the target was up")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.communicate(timeout=60)
