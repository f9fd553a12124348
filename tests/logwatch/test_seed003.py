"""Seed 003's nine patterns, with their emoji, counted on a sample log by every engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.logwatch._helpers import load_yaml, seed_config

from tocsin.logwatch import ENGINES, Watcher

SAMPLE = """\
2025-10-16 12:34:56 [INFO] [batch_archiver] 📦 Found 150 delivered orders
2025-10-16 12:35:10 [INFO] [batch_archiver] ✅ Archived 150 orders
2025-10-16 12:35:10 [INFO] [batch_archiver] 📊 Progress: 150/150 processed
2025-10-16 12:40:00 [INFO] [batch_archiver] ✅ Archived 7 orders
2025-10-16 12:40:01 [INFO] [watcher] ✅ Connected to database
2025-10-16 12:40:02 [INFO] [watcher] ✅ Change Stream opened successfully
2025-10-16 12:40:03 [WARNING] [watcher] ⚠️  Order ORD-1 is incomplete
2025-10-16 12:40:04 [WARNING] [watcher] ⚠️  Order ORD-2 is incomplete
2025-10-16 12:40:05 [WARNING] [watcher] ⚠️  Order ORD-1 already archived
2025-10-16 12:40:06 [WARNING] [watcher] ⚠️  Could not load resume token
2025-10-16 12:40:07 [ERROR] [watcher] ❌ Failed to connect to MongoDB: timed out
2025-10-16 12:40:08 [ERROR] [watcher] ❌ Failed to connect to MongoDB: refused
2025-10-16 12:40:09 [ERROR] [watcher] ❌ Error enriching order KeyError
2025-10-16 12:40:10 [ERROR] [watcher] ❌ Error enriching order TimeoutError
2025-10-16 12:40:11 [ERROR] [watcher] ❌ Change Stream error: cursor killed
2025-10-16 12:40:12 [INFO] [watcher] ⚠️ Order ORD-3 is incomplete (one space: not seed 003's pattern)
2025-10-16 12:40:13 [INFO] [watcher] ✅ Archived many orders
"""

EXPECTED = {
    "orders_archived_total": 157.0,  # the captured counts, 150 + 7
    "change_stream_opened_total": 1.0,
    "database_connected_total": 1.0,
    "orders_incomplete_total": 2.0,
    "orders_duplicates_total": 1.0,
    "resume_token_load_failures_total": 1.0,
    "connection_errors_total": 2.0,
    "change_stream_errors_total": 1.0,
}


def _samples(watcher: Watcher) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in watcher.collector.collect():
        for sample in family.samples:
            key = sample.name + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items()))
            out[key] = sample.value
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_nine_patterns_counted_with_captures_and_labels(tmp_path: Path, engine: str) -> None:
    if engine != "re":
        pytest.importorskip(engine)  # the `logwatch` extra: google-re2 (module re2) and hyperscan
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "archiver.log").write_text(SAMPLE + "2025-10-16 12:41:00 [INFO] ✅ Archived 5 ord")
    (tmp_path / "logwatch.yaml").write_text(seed_config("logs/*.log"))
    watcher = Watcher(load_yaml(tmp_path / "logwatch.yaml"), tmp_path / "state", tmp_path, engine=engine)
    assert watcher.engines == {"archiver": engine}
    watcher.poll()
    samples = _samples(watcher)
    for name, value in EXPECTED.items():
        assert samples[name] == value, name
    assert samples["order_enrich_errors_total{kind=KeyError}"] == 1.0
    assert samples["order_enrich_errors_total{kind=TimeoutError}"] == 1.0
    assert samples["log_lines_total{level=INFO}{source=archiver}"] == 8.0
    assert samples["log_lines_total{level=WARNING}{source=archiver}"] == 4.0
    assert samples["log_lines_total{level=ERROR}{source=archiver}"] == 5.0
    assert samples["log_pattern_last_match_timestamp_seconds{pattern=orders_archived}"] > 0
    assert "log_pattern_last_match_timestamp_seconds{pattern=order_enrich_errors}" in samples
    # the partial last line counts only once it ends
    with open(tmp_path / "logs" / "archiver.log", "a") as f:
        f.write("ers\n")
    watcher.poll()
    assert _samples(watcher)["orders_archived_total"] == 162.0
    watcher.close()


def test_json_lines_count_levels_and_match_patterns(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text(
        '{"level": "info", "message": "✅ Archived 3 orders"}\n'
        '{"level": "warn", "message": "slow"}\n'
        '{"level": "ERROR", "message": "❌ Failed to connect to MongoDB"}\n'
        '{"level": "bogus", "message": "x"}\n'
        "not json at all\n"
    )
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        "files: [{path: app.jsonl, format: json, source: api}]\n"
        "patterns:\n"
        "  - {name: orders_archived, regex: 'Archived (?P<count>\\d+) orders', value: count}\n"
        "  - {name: connection_errors, regex: 'Failed to connect'}\n"
    )
    watcher = Watcher(load_yaml(config), tmp_path / "state", tmp_path)
    watcher.poll()
    samples = _samples(watcher)
    assert samples["orders_archived_total"] == 3.0
    assert samples["connection_errors_total"] == 1.0
    assert samples["log_lines_total{level=INFO}{source=api}"] == 1.0
    assert samples["log_lines_total{level=WARNING}{source=api}"] == 1.0
    assert samples["log_lines_total{level=ERROR}{source=api}"] == 1.0
    assert samples["log_lines_total{level=other}{source=api}"] == 1.0
    assert samples["log_lines_total{level=none}{source=api}"] == 1.0
    watcher.close()


def test_label_sets_past_the_cap_fold_into_overflow(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("".join(f"user u{i} failed\n" for i in range(10)))
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        "files: [{path: a.log}]\n"
        "patterns: [{name: login_failures, regex: 'user (?P<user>\\w+) failed', max_series: 3}]\n"
        "store: {enabled: false}\n"
    )
    watcher = Watcher(load_yaml(config), tmp_path / "state", tmp_path)
    watcher.poll()
    samples = _samples(watcher)
    assert samples["login_failures_total{user=overflow}"] == 7.0
    assert sum(v for k, v in samples.items() if k.startswith("login_failures_total{")) == 10.0
    assert samples["logwatch_series_dropped_total"] == 7.0
    watcher.close()


def test_directory_size_gauge(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "old").mkdir(parents=True)
    (logs / "a.log").write_bytes(b"x\n" * 500)
    (logs / "old" / "b.log.1").write_bytes(b"y" * 3000)
    config = tmp_path / "logwatch.yaml"
    config.write_text("files: [{path: logs/*.log}]\ndirectories: [{path: logs}]\nstore: {enabled: false}\n")
    watcher = Watcher(load_yaml(config), tmp_path / "state", tmp_path)
    watcher.poll()
    assert _samples(watcher)["log_directory_size_bytes{path=logs}"] == 4000.0
    watcher.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_many_patterns_agree_across_engines(tmp_path: Path, engine: str) -> None:
    if engine != "re":
        pytest.importorskip(engine)
    names = [f"p{i:03d}" for i in range(150)]  # more than one re2 set
    lines = [f"event {name} happened with code {i}" for i, name in enumerate(names)]
    (tmp_path / "a.log").write_text("\n".join(lines * 2) + "\n")
    (tmp_path / "logwatch.yaml").write_text(
        "files: [{path: a.log}]\nstore: {enabled: false}\npatterns:\n"
        + "".join(f"  - {{name: {n}, regex: 'event {n} happened'}}\n" for n in names)
        + "  - {name: codes, regex: 'code (?P<c>\\d+)$', value: c}\n"
    )
    watcher = Watcher(load_yaml(tmp_path / "logwatch.yaml"), tmp_path / "state", tmp_path, engine=engine)
    watcher.poll()
    samples = _samples(watcher)
    assert all(samples[f"{n}_total"] == 2.0 for n in names)
    assert samples["codes_total"] == 2.0 * sum(range(150))
    watcher.close()


def test_lookarounds_and_backreferences_keep_the_fast_engine(tmp_path: Path) -> None:
    pytest.importorskip("hyperscan")
    (tmp_path / "a.log").write_text(
        "order ORD-1 failed twice: ORD-1\norder ORD-2 failed twice: ORD-3\nretry after timeout\nretry now\n"
    )
    (tmp_path / "logwatch.yaml").write_text(
        "files: [{path: a.log}]\nstore: {enabled: false}\npatterns:\n"
        "  - {name: same_order_twice, regex: 'order (ORD-\\d+) failed twice: \\1$'}\n"
        "  - {name: retries_after_timeout, regex: 'retry(?= after)'}\n"
        "  - {name: plain, regex: 'retry'}\n"
    )
    watcher = Watcher(load_yaml(tmp_path / "logwatch.yaml"), tmp_path / "state", tmp_path)
    assert watcher.engines == {"a": "hyperscan"}
    watcher.poll()
    samples = _samples(watcher)
    assert (
        samples["same_order_twice_total"],
        samples["retries_after_timeout_total"],
        samples["plain_total"],
    ) == (
        1.0,
        1.0,
        2.0,
    )
    watcher.close()


def test_the_documented_configuration_counts_the_sample(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "logwatch.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]  # the first YAML block: seed 003's config
    (tmp_path / "logwatch.yaml").write_text(example)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "archiver.log").write_text(SAMPLE)
    watcher = Watcher(load_yaml(tmp_path / "logwatch.yaml"), tmp_path / "state", tmp_path)
    watcher.poll()
    samples = _samples(watcher)
    for name, value in EXPECTED.items():
        assert samples[name] == value, name
    assert samples["order_enrich_errors_total"] == 2.0
    assert samples["log_directory_size_bytes{path=logs}"] == len(SAMPLE.encode())
    watcher.close()
