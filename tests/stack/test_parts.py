"""The stack's parts without the Prometheus binaries: error words, logs, history, receiver, backoff."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import free_port

from tocsin.errors import StackError
from tocsin.stack import (
    Component,
    StackLayout,
    StackSettings,
    Supervisor,
    build_plan,
    explain_scrape_error,
)
from tocsin.stack import components as components_module
from tocsin.stack._portcheck import ensure_ports_free
from tocsin.stack.components import find_binary
from tocsin.stack.config import activate, current_generation, install_bundle, stage_bundle
from tocsin.stack.logs import RotatingFile


@pytest.mark.parametrize(
    ("error", "plain"),
    [
        (
            'Get "http://127.0.0.1:1/metrics": dial tcp 127.0.0.1:1: connect: connection refused',
            "connection refused",
        ),
        ("server returned HTTP status 404 Not Found", "404 on the metrics path /m"),
        ("server returned HTTP status 401 Unauthorized", "401 on /m: the endpoint wants credentials"),
        ('"<html>" is not a valid start token', "not Prometheus format"),
        ('strconv.ParseFloat: parsing "receiver": invalid syntax', "not Prometheus format"),
        ("context deadline exceeded", "timed out"),
        ("", ""),
    ],
)
def test_scrape_errors_in_plain_words(error: str, plain: str) -> None:
    assert explain_scrape_error(error, "http://127.0.0.1:1/m").startswith(plain)


def test_log_files_rotate_and_keep_n_backups(tmp_path: Path) -> None:
    log = RotatingFile(tmp_path / "x.log", max_bytes=100, backups=2)
    for i in range(10):
        log.write(f"line {i:02d} ".encode() * 5 + b"\n")  # 41 bytes
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.log", "x.log.1", "x.log.2"]
    assert (tmp_path / "x.log").read_bytes().startswith(b"line 08")
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(components_module.BINARIES, "prometheus", (("no-such-prometheus",), "prometheus"))
    with pytest.raises(StackError, match=r"apt-get install -y prometheus\)"):
        find_binary("prometheus")


def test_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        comp = Component("prometheus", "prometheus", ("true",), port)
        with pytest.raises(StackError, match=rf"127\.0\.0\.1:{port} \(prometheus\)") as info:
            ensure_ports_free([comp])
    assert info.value.exit_code == 2


def test_a_failing_check_leaves_the_active_generation_alone(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    first = install_bundle(layout, {"prometheus/prometheus.yml": "v1"})

    def reject(directory: Path) -> None:
        raise StackError(f"{directory}: rejected")

    with pytest.raises(StackError):
        stage_bundle(layout, {"prometheus/prometheus.yml": "v2"}, reject)
    assert current_generation(layout) == first
    assert (layout.current / "prometheus" / "prometheus.yml").read_text() == "v1"
    assert sorted(p.name for p in layout.config_root.iterdir()) == ["current", first.name]
    second = stage_bundle(layout, {"prometheus/prometheus.yml": "v2"})
    assert activate(layout, second) == first
    assert (layout.current / "prometheus" / "prometheus.yml").read_text() == "v2"


def test_crash_loop_backs_off_exponentially(tmp_path: Path) -> None:
    crasher = Component("crasher", "test", (sys.executable, "-c", "import sys; sys.exit(3)"), free_port())
    supervisor = Supervisor([crasher], StackLayout(tmp_path))
    supervisor.start()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        supervisor.tick()
        time.sleep(0.01)
    supervisor.stop()
    log = (tmp_path / "logs" / "crasher.log").read_text()
    delays = [float(line.rsplit(" ", 1)[1][:-1]) for line in log.splitlines() if "restarting in" in line]
    assert delays[:4] == [0.05, 0.1, 0.2, 0.4]
    assert "exited with code 3" in log


def test_a_component_dying_at_start_is_reported_with_its_last_log_lines(tmp_path: Path) -> None:
    argv = (sys.executable, "-c", "print('bad flag --nope'); raise SystemExit(2)")
    supervisor = Supervisor([Component("broken", "test", argv, free_port())], StackLayout(tmp_path))
    with pytest.raises(StackError, match=r"broken exited with code 2 at start(.|\n)*bad flag --nope"):
        supervisor.serve(ready_timeout=10)
    assert not (tmp_path / "run" / "broken.pid").exists()


def test_missing_receiver_extra_is_named_before_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aiosmtpd", None)  # what an install without the extra looks like
    with pytest.raises(StackError, match=r"needs aiosmtpd \(pip install 'tocsin\[receiver\]'"):
        build_plan(StackSettings(state_dir=tmp_path), StackLayout(tmp_path))


def test_every_missing_extra_is_named_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``pip install tocsin[flask]`` then ``tocsin up``: one error with the whole pip line."""
    monkeypatch.setitem(sys.modules, "aiosmtpd", None)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    settings = StackSettings(state_dir=tmp_path).with_options("console", view_model=True)
    with pytest.raises(StackError) as caught:
        build_plan(settings, StackLayout(tmp_path))
    message = str(caught.value)
    assert "the receiver needs aiosmtpd; the console needs uvicorn" in message, message
    assert "pip install 'tocsin[receiver,console]'" in message, message
    assert "stack: {receiver: {enabled: false}, console: {enabled: false}}" in message, message


@pytest.mark.parametrize(
    ("module", "unwanted"),
    [
        ("tocsin.stack.receiver", ("starlette", "uvicorn", "pydantic", "tocsin.spec", "httpx", "psutil")),
        ("tocsin.stack.supervisor", ("httpx", "psutil", "sqlite3", "pydantic", "tocsin.spec", "email")),
    ],
)
def test_long_running_processes_stay_light(module: str, unwanted: tuple[str, ...]) -> None:
    """The receiver and supervisor run as long as the stack: every MB counts (benchmarks/stack_startup.py)."""
    code = f"import sys, {module}; print(sorted(m for m in {unwanted!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"importing {module} imports {out.stdout.strip()}"


def test_go_components_collect_garbage_at_gogc_50_unless_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOGC=50 keeps ~4 MB off the stack (docs/performance.md); a user's own GOGC/GOMEMLIMIT wins."""
    go = {"prometheus", "alertmanager", "pushgateway", "node-exporter"}
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    plan = {c.name: c for c in build_plan(StackSettings(state_dir=tmp_path), StackLayout(tmp_path))}
    assert {name for name, c in plan.items() if c.env.get("GOGC") == "50"} == go
    assert "GOGC" not in plan["receiver"].env
    for variable in ("GOGC", "GOMEMLIMIT"):
        with monkeypatch.context() as m:
            m.setenv(variable, "200" if variable == "GOGC" else "256MiB")
            planned = build_plan(StackSettings(state_dir=tmp_path), StackLayout(tmp_path))
            assert not [c.name for c in planned if "GOGC" in c.env], variable
