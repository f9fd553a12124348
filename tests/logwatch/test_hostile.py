"""Hostile files as a class: binary, NUL, invalid UTF-8, CR, huge lines and numbers, rotations in any
order, permission flips, vanishing directories, many files. None may hang, crash or traceback, and the
counts must still be exact.

The fuzzer drives a real :class:`~tocsin.logwatch.Watcher` through a random sequence of writes (random
bytes cut at random places), polls, rename rotations, copytruncates, truncations, restarts and crashes
(the watcher dropped without its last checkpoint), and checks every count against a model of the file
as a plain reader would split it into lines. Bounded: ``TOCSIN_FUZZ_EXAMPLES`` examples per engine
(default 40).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import wait_for
from tests.logwatch._helpers import WatcherProcess, load_yaml

from tocsin.logwatch import Watcher

EXAMPLES = int(os.environ.get("TOCSIN_FUZZ_EXAMPLES", "40"))
VALUE = re.compile(r"n=(?P<n>\S+)")
ERR = re.compile(r"ERR(?P<kind>[a-z]?)")
_MAX_VALUE = float(2**53)

_bytes = st.one_of(
    st.binary(max_size=300),  # anything: NUL, invalid UTF-8, lone CR
    st.lists(
        st.sampled_from(
            [
                b"ERR",
                b"ERRx",
                b"n=",
                b"n=12",
                b"n=1e999",
                b"n=nan",
                b"n=-4",
                b"n=" + b"9" * 400,
                b"\n",
                b"\x00",
                b"\xff\xfe",
                b"\xe2\x9c",
                b"\r\n",
                "é✅".encode(),
                b"ERR\n",
                b" ",
            ]
        ),
        max_size=40,
    ).map(b"".join),
)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), _bytes),
        st.just(("poll",)),
        st.just(("rename",)),
        st.just(("copytruncate",)),
        st.just(("truncate",)),
        st.just(("restart",)),
        st.just(("crash",)),
    ),
    max_size=25,
)


class Model:
    """The lines a perfect reader counts: complete lines, plus the unfinished last line of a file that
    a rotation took away (it can never end)."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.current = b""  # the live file's unread partial line, as far as lines go

    def write(self, data: bytes) -> None:
        *complete, self.current = (self.current + data).split(b"\n")
        self.lines += complete

    def finish_partial(self) -> None:
        if self.current:
            self.lines.append(self.current)
        self.current = b""

    def drop_partial(self) -> None:
        self.current = b""

    def totals(self) -> tuple[int, float, int]:
        value, errors = 0.0, 0
        for raw in self.lines:
            text = raw.decode("utf-8", "replace")
            m = VALUE.search(text)
            if m:
                try:
                    number = float(m.group("n"))
                except ValueError:
                    number = -1.0
                if len(m.group("n")) <= 400 and 0 <= number <= _MAX_VALUE:
                    value += number
            errors += ERR.search(text) is not None
        return len(self.lines), value, errors


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        "files: [{path: logs/app.log, source: app}]\n"
        "patterns:\n"
        "  - {name: values, regex: 'n=(?P<n>\\S+)', value: n}\n"
        "  - {name: errors, regex: 'ERR(?P<kind>[a-z]?)'}\n"
        "store: {enabled: true, retention: 3650d}\n"
    )
    return config


def _watcher(tmp_path: Path, engine: str) -> Watcher:
    return Watcher(load_yaml(_config(tmp_path)), tmp_path / "state", engine=engine, rotate_wait=0.0)


def _totals(w: Watcher) -> tuple[int, float, int]:
    lines = sum(w.counts.lines.values())
    value = sum(w.counts.patterns.get("values_total", {}).values())
    errors = sum(w.counts.patterns.get("errors_total", {}).values())
    return lines, value, int(errors)


def _first_line(log: Path, model: Model, marker: bytes) -> None:
    """A new file's (or a truncated one's) first line, its own, as a program's log starts with a
    timestamp: two files of one rotation family whose heads are the same (say both just ``\n``) are
    taken for a file and its copy and count once, a documented limit (docs/logwatch.md, "Limits");
    and a file rewritten with the same first bytes cannot be told from the same file."""
    with open(log, "ab") as f:
        f.write(marker)
    model.write(marker)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("engine", ["hyperscan", "re"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=_ops)
def test_any_sequence_of_hostile_writes_and_rotations_counts_exactly(
    tmp_path_factory: pytest.TempPathFactory, engine: str, ops: list[tuple[object, ...]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_bytes(b"")
    model = Model()
    w = _watcher(tmp_path, engine)
    w.poll()  # as the process does at once: what is there now is known
    rotations = 0
    try:
        for op in ops:
            kind = op[0]
            if kind == "write":
                data = op[1]
                assert isinstance(data, bytes)
                with open(log, "ab") as f:
                    f.write(data)
                model.write(data)
            elif kind == "poll":
                w.poll()
            elif kind == "rename":  # the writer moves on to a new file: its unfinished line stays unfinished
                rotations += 1
                log.rename(logs / f"app.log.{rotations}")
                log.write_bytes(b"")
                model.finish_partial()
                _first_line(log, model, b"rotated %d\n" % rotations)
            elif kind == "copytruncate":
                rotations += 1
                shutil.copyfile(log, logs / f"app.log.{rotations}")
                os.truncate(log, 0)
                model.finish_partial()  # the copy is final; the writer starts a new line at 0
                _first_line(log, model, b"copytruncated %d\n" % rotations)
            elif kind == "truncate":  # only once every line is read: else the truncation destroys lines
                for _ in range(3):
                    w.poll()
                os.truncate(log, 0)
                model.drop_partial()
                _first_line(log, model, b"truncated at %d\n" % len(model.lines))
            elif kind == "restart":
                w.close()
                w = _watcher(tmp_path, engine)
            elif kind == "crash":  # dropped without saving: resumes from the last checkpoint
                for source in w.sources:
                    source.tail.close()
                w = _watcher(tmp_path, engine)
        for _ in range(4):
            w.poll()
        assert _totals(w) == model.totals()
    finally:
        w.close()


def test_a_100_mb_line_is_one_line_read_in_bounded_memory_and_time(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    with open(log, "wb") as f:
        f.write(b"n=5 ERR ")
        chunk = b"\x00\xff" * (1 << 19)  # 1 MiB of NUL and invalid UTF-8
        for _ in range(100):
            f.write(chunk)
        f.write(b"\nn=2\n")
    w = _watcher(tmp_path, "hyperscan")
    start = time.monotonic()
    while w.poll():
        assert time.monotonic() - start < 120
    assert _totals(w) == (2, 7.0, 1)
    w.close()


def test_two_thousand_files_are_counted_with_few_descriptors(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in range(2000):
        (logs / f"f{i:04d}.log").write_bytes(b"n=1\n" * 3)
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        "files: [{path: 'logs/*.log', source: app}]\n"
        "patterns: [{name: values, regex: 'n=(?P<n>\\S+)', value: n}]\nstore: {enabled: false}\n"
    )
    w = Watcher(load_yaml(config), tmp_path / "state", park_after=0.0)
    for _ in range(3):
        w.poll()
    assert _totals(w)[:2] == (6000, 6000.0)
    assert sum(1 for s in w.sources[0].tail.files.values() if s.fd is not None) == 0
    w.close()


def test_vanishing_and_reappearing_directories(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_bytes(b"n=1\n")
    w = _watcher(tmp_path, "re")
    w.poll()
    shutil.rmtree(logs)
    for _ in range(2):
        w.poll()
    logs.mkdir()
    (logs / "app.log").write_bytes(b"n=2\nn=3\n")
    for _ in range(2):
        w.poll()
    assert _totals(w)[:2] == (3, 6.0)
    logs.chmod(0)
    w.poll()
    logs.chmod(0o755)
    w.close()


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_permission_flips_are_waited_out(tmp_path: Path) -> None:
    """The watcher runs without the capabilities that let root read everything (setpriv drops them),
    so unreadable files and directories are what they are for any other user: retried, not fatal."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_bytes(b"n=1\n")
    watcher = WatcherProcess(_config(tmp_path), tmp_path / "state")
    watcher.wrapper = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    with watcher:
        watcher.start()
        watcher.wait_caught_up(1)
        fd = os.open(logs / "app.log.1", os.O_WRONLY | os.O_CREAT, 0)  # a sibling it cannot open yet
        os.write(fd, b"n=4\n")
        os.close(fd)
        log.chmod(0)  # the live file too (idle, so its descriptor was closed: it cannot reopen it)
        time.sleep(1)  # a few polls meet EACCES
        logs.chmod(0)  # then the directory itself: the listing fails
        with open(log, "ab") as f:
            f.write(b"n=2\n")
        time.sleep(1)
        assert watcher.proc is not None and watcher.proc.poll() is None
        assert watcher.metrics()["log_lines_total"] == 1
        logs.chmod(0o755)
        log.chmod(0o644)
        (logs / "app.log.1").chmod(0o644)
        m = watcher.wait_caught_up(3)
        assert m["values_total"] == 7.0
        assert watcher.stop() == 0
    errors = "".join(p.read_text() for p in tmp_path.glob("watcher-*.err"))
    assert "Traceback" not in errors


def test_sigterm_during_a_long_read_saves_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_bytes(b"n=1 ERR\n" * 2_000_000)
    compiled = tmp_path / "logwatch.json"
    from tocsin.logwatch.config import config_to_dict

    compiled.write_text(__import__("json").dumps(config_to_dict(load_yaml(_config(tmp_path)))))
    cmd = [
        sys.executable,
        "-m",
        "tocsin.logwatch",
        "--config",
        str(compiled),
        "--state-dir",
        str(tmp_path / "s"),
    ]
    proc = subprocess.Popen([*cmd, "--no-http"], stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (tmp_path / "s" / "logwatch-checkpoint.json").exists(), timeout=60, what="a first save")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err
