"""Compaction keeps every total exact while the files of dead processes go away."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from multiprocess_writers import Samples, client_view, db_files, merged, run_writers
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from tocsin.errors import ConfigurationError
from tocsin.sdk import multiprocess
from tocsin.sdk.multiprocess import MultiProcessCollector


def _without(samples: Samples, *prefixes: str) -> Samples:
    return {k: v for k, v in samples.items() if not k[0].startswith(prefixes)}


def test_compaction_changes_no_value_and_bounds_the_files(tmp_path: Path) -> None:
    pids = run_writers(tmp_path, [1, 2, 3])
    before = client_view(tmp_path)
    assert before[("jobs_total", (("queue", "b"),))] == 12
    assert len(db_files(tmp_path)) == 3 * 10  # counter, histogram, summary, 7 gauge modes

    for pid in pids:
        assert multiprocess.mark_process_dead(pid, tmp_path) == 9  # all but the gauge "all" file
    after = merged(MultiProcessCollector(path=tmp_path, constant_labels_from=None).collect())

    # live* gauges of dead processes are gone, exactly as prometheus_client's mark_process_dead does
    assert not any(name.startswith(("g_liveall", "g_livesum")) for name, _ in after)
    # the same series; float sums may differ in the last bit (added in another order), counts are exact
    assert _without(after, "g_live") == pytest.approx(_without(before, "g_live"), rel=1e-12)
    assert after[("jobs_total", (("queue", "a"),))] == 6
    assert after[("job_seconds_count", (("queue", "a"),))] == 1 + 2 + 3
    assert after[("job_seconds_bucket", (("le", "1.0"), ("queue", "a")))] == 1 + 2 + 2
    assert after[("g_max", ())] == 3 and after[("g_min", ())] == 1 and after[("g_sum", ())] == 6
    assert after[("g_mostrecent", ())] == before[("g_mostrecent", ())]  # the latest timestamp wins

    files = db_files(tmp_path)
    assert files == sorted(
        ["counter_archive.db", "histogram_archive.db", "summary_archive.db"]
        + [f"gauge_{m}_archive.db" for m in ("max", "min", "mostrecent", "sum")]
        + [f"gauge_all_{pid}.db" for pid in pids]
    )

    # more processes come and go: totals keep adding up, the archive count does not grow
    more = run_writers(tmp_path, [10])
    for pid in more:
        multiprocess.mark_process_dead(pid, tmp_path)
    final = client_view(tmp_path)
    assert final[("jobs_total", (("queue", "a"),))] == 16
    assert len(db_files(tmp_path)) == len(files) + 1  # only the new gauge "all" file
    assert multiprocess.mark_process_dead(more[0], tmp_path) == 0  # twice is harmless


def _fake_process_file(directory: Path, pid: int, value: float) -> None:
    table = MmapedDict(str(directory / f"counter_{pid}.db"))
    table.write_value(mmap_key("hits", "hits_total", ["k"], ["v"], "hits"), value, 0.0)
    table.close()


def test_a_file_another_process_is_still_creating_is_passed_over(tmp_path: Path) -> None:
    """prometheus_client creates a process file empty and sizes it a moment later; a scrape in that
    moment must merge the others, not fail (seen as a 500 under gunicorn when a worker's first health
    result made its gauge file while another scrape read the directory)."""
    run_writers(tmp_path, [1])
    before = merged(MultiProcessCollector(path=tmp_path, constant_labels_from=None).collect())
    (tmp_path / "gauge_mostrecent_424242.db").touch()
    after = merged(MultiProcessCollector(path=tmp_path, constant_labels_from=None).collect())
    assert after == before


def test_concurrent_compactions_lose_nothing(tmp_path: Path) -> None:
    pids = list(range(4_000_001, 4_000_041))  # above pid_max: no such process
    for pid in pids:
        _fake_process_file(tmp_path, pid, 1.0)
    threads = [threading.Thread(target=multiprocess.mark_process_dead, args=(p, tmp_path)) for p in pids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client_view(tmp_path)[("hits_total", (("k", "v"),))] == len(pids)
    assert db_files(tmp_path) == ["counter_archive.db"]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tocsin-tmp")]


def test_compact_dead_processes_spares_the_living(tmp_path: Path) -> None:
    _fake_process_file(tmp_path, 4_000_100, 2.0)
    _fake_process_file(tmp_path, os.getpid(), 3.0)
    _fake_process_file(tmp_path, 1, 4.0)  # init: alive (EPERM when not root still means alive)
    assert multiprocess.compact_dead_processes(tmp_path) == [4_000_100]
    assert db_files(tmp_path) == sorted(["counter_1.db", "counter_archive.db", f"counter_{os.getpid()}.db"])
    assert client_view(tmp_path)[("hits_total", (("k", "v"),))] == 9


def test_clear_directory_and_child_exit_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # on_starting (which also checks the import order) runs in the gunicorn test, in a real master
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    _fake_process_file(tmp_path, 4_000_200, 1.0)
    (tmp_path / "notes.txt").write_text("not ours")
    assert multiprocess.clear_directory() == 1
    assert db_files(tmp_path) == []
    assert (tmp_path / "notes.txt").exists()
    server = SimpleNamespace(log=logging.getLogger("gunicorn-test"))

    _fake_process_file(tmp_path, 4_000_201, 5.0)
    multiprocess.child_exit(server, SimpleNamespace(pid=4_000_201))
    assert db_files(tmp_path) == ["counter_archive.db"]

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "gone"))
    with caplog.at_level(logging.ERROR, logger="gunicorn-test"):
        multiprocess.child_exit(server, SimpleNamespace(pid=4_000_202))  # logged, not raised
    assert "could not compact" in caplog.text


def test_directory_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(ConfigurationError, match="not set"):
        MultiProcessCollector()
    with pytest.raises(ConfigurationError, match="does not exist"):
        multiprocess.mark_process_dead(1, tmp_path / "absent")


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def test_import_order_is_checked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    light = _run("import sys, tocsin.sdk.multiprocess; print('prometheus_client' in sys.modules)", env)
    assert light.stdout.strip() == "False"
    target = tmp_path / "mp"
    good = _run(
        f"from tocsin.sdk import multiprocess; multiprocess.use_directory({str(target)!r});"
        "import prometheus_client.values as v; print(v.ValueClass._multiprocess)",
        env,
    )
    assert good.stdout.strip() == "True", good.stderr
    late = _run(
        "import prometheus_client; from tocsin.sdk import multiprocess;"
        f"multiprocess.use_directory({str(target)!r})",
        env,
    )
    assert "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set" in late.stderr
