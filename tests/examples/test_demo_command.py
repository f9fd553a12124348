"""``tocsin demo NAME``: it prints the console first, every URL it prints opens, ``--fault`` breaks the
running demo, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests._demo import demo_running, printed_urls
from tests.examples._e2e import needs_stack

from tocsin.cli import main


def test_without_a_name_it_lists_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    assert "  order_archiver" in capsys.readouterr().out


def test_an_unknown_example_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "order_archiverr"]) == 2
    assert "no example 'order_archiverr' (examples: " in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.timeout(600)
@needs_stack
@pytest.mark.parametrize("name", ["order_archiver", "kpi_system"])
def test_every_url_the_demo_prints_opens(name: str, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "tocsin", "demo", name, "--any-ports", "--state-dir", str(tmp_path)]
    with demo_running(argv, tmp_path, tmp_path) as output:
        urls = printed_urls(output)
        assert urls[0][0] == "console", output  # the console first
        with httpx.Client(timeout=15) as http:
            for label, url in urls:
                answer = http.get(url)
                assert answer.status_code == 200, f"{label}: {url} answered {answer.status_code}"
                assert answer.content, f"{label}: {url} is empty"
        commands = [line.strip() for line in output if " --fault " in line]
        assert commands, "the demo prints how to break it"
        fault = [*commands[0].split()[1:]]  # `tocsin demo NAME --fault F --state-dir X`, run as `-m tocsin`
        broke = subprocess.Popen(
            [sys.executable, "-m", "tocsin", *fault],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:  # a one-shot fault (a kill) ends by itself; a lasting one runs until Ctrl-C, which undoes it
            said, _ = broke.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            broke.send_signal(signal.SIGINT)
            said, _ = broke.communicate(timeout=60)
            assert "fault undone" in said, said
        assert broke.returncode == 0, said
