"""Log lines/s on one core with 10 patterns: tocsin logwatch vs a per-line ``re`` loop vs ``grep -cE``.

The file: 1,000,000 lines in seed 003's format (~120 bytes each), about 15 % of them matching one of the
10 patterns (seed 003's nine with their emoji, plus a slow-query pattern with a captured number).
Everyone reads the same file from the page cache, pinned to one CPU.

- ``tocsin`` is the whole watcher (tail, match, count, checkpoint) as ``tocsin logwatch --once`` runs it,
  with each engine; then with the text level regex, then with the SQLite/FTS5 store on;
- ``naive re`` is what a hand-written exporter does: for each line, for each pattern, ``re.search``;
- ``grep -cE`` counts the lines matching any of the patterns (one alternation); it does no per-pattern
  counting, so it is the floor of what matching alone costs in C.

Run: ``.venv/bin/python benchmarks/logwatch.py`` → ``benchmarks/results/logwatch.json``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import best_of, write_results

from tocsin.logwatch import Watcher, load_config

LINES = 1_000_000
PATTERNS = [
    ("orders_archived", r"✅ Archived (?P<count>\d+) orders", "count"),
    ("change_stream_opened", r"✅ Change Stream opened successfully", None),
    ("database_connected", r"✅ Connected to database", None),
    ("orders_incomplete", r"⚠️  Order .+ is incomplete", None),
    ("orders_duplicates", r"⚠️  Order .+ already archived", None),
    ("resume_token_load_failures", r"⚠️  Could not load resume token", None),
    ("connection_errors", r"❌ Failed to connect to MongoDB", None),
    ("order_enrich_errors", r"❌ Error enriching order", None),
    ("change_stream_errors", r"❌ Change Stream error", None),
    ("slow_queries", r"slow query took (?P<ms>\d+) ms", "ms"),
]
MESSAGES = [
    "✅ Archived {n} orders",
    "⚠️  Order ORD-{i} is incomplete",
    "❌ Failed to connect to MongoDB: timed out",
    "slow query took {n} ms on Commande",
    "✅ Connected to database",
    "⚠️  Order ORD-{i} already archived",
    "❌ Error enriching order ORD-{i}",
    "✅ Change Stream opened successfully",
    "⚠️  Could not load resume token",
    "❌ Change Stream error: cursor killed",
]
FILLER = [
    "📦 Found {n} delivered orders in Commande (status=livrée)",
    "📊 Progress: {n}/150 processed, batch {i}",
    "processing order ORD-{i} for customer C{n}",
    "change event received: op=update ns=shop.Commande id={i}",
    "resume token saved: {i:016x}",
]
LEVELS = ["INFO", "INFO", "DEBUG", "INFO", "WARNING", "INFO", "ERROR"]


def make_log(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(LINES):
            n = i % 150 + 1
            text = MESSAGES[i // 7 % len(MESSAGES)] if i % 7 == 0 else FILLER[i % len(FILLER)]
            level = LEVELS[i % len(LEVELS)]
            f.write(
                f"2025-10-16 12:{i // 60 % 60:02d}:{i % 60:02d} [{level}] [archiver] "
                + text.format(i=i, n=n)
                + "\n"
            )


def config_text(log: Path, *, level: bool = False, store: bool = False) -> str:
    lines = [f"files:\n  - path: '{log}'\n    source: archiver"]
    if level:
        lines.append("    level: '\\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\\]'")
    lines.append("patterns:")
    for name, regex, value in PATTERNS:
        lines.append(f"  - {{name: {name}, regex: '{regex}'" + (f", value: {value}}}" if value else "}"))
    lines.append("store: {enabled: true, retention: 3650d}" if store else "store: {enabled: false}")
    return "\n".join(lines) + "\n"


def run_tocsin(work: Path, log: Path, engine: str, **options: bool) -> tuple[float, dict[str, float]]:
    config = work / "logwatch.yaml"
    config.write_text(config_text(log, **options))
    state = work / "state"
    shutil.rmtree(state, ignore_errors=True)
    watcher = Watcher(load_config(config), state, work, engine=engine)
    start = time.perf_counter()
    while watcher.poll():
        pass
    elapsed = time.perf_counter() - start
    totals = {name: sum(series.values()) for name, series in watcher.counts.patterns.items()}
    lines = sum(watcher.counts.lines.values())
    watcher.close()
    assert lines == LINES, lines
    return elapsed, totals


def run_naive(log: Path) -> tuple[float, dict[str, float], int]:
    compiled = [(name + "_total", re.compile(regex), value) for name, regex, value in PATTERNS]
    totals = dict.fromkeys((c[0] for c in compiled), 0.0)
    any_match = 0
    start = time.perf_counter()
    with open(log, encoding="utf-8") as f:
        for line in f:
            hit = False
            for name, regex, value in compiled:
                m = regex.search(line)
                if m:
                    totals[name] += float(m.group(value)) if value else 1.0
                    hit = True
            any_match += hit
    return time.perf_counter() - start, totals, any_match


def grep_pattern() -> str:
    """The 10 regexes as one POSIX ERE alternation (no named groups, no ``\\d``)."""
    parts = [re.sub(r"\(\?P<\w+>", "(", regex).replace(r"\d", "[0-9]") for _, regex, _ in PATTERNS]
    return "|".join(f"({p})" for p in parts)


def run_grep(log: Path, cpu: int) -> tuple[float, int]:
    cmd = ["grep", "-cE", grep_pattern(), str(log)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return time.perf_counter() - start, int(out.stdout)


def main() -> None:
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})  # one core, for everyone
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        log = work / "archiver.log"
        make_log(log)
        size = log.stat().st_size
        log.read_bytes()  # into the page cache
        results: dict[str, dict[str, float]] = {}
        reference: dict[str, float] = {}

        def timed_tocsin(engine: str, repeats: int = 3, **options: bool) -> float:
            def once() -> float:
                elapsed, totals = run_tocsin(work, log, engine, **options)
                assert totals == {k: v for k, v in reference.items() if v}, (engine, options, totals)
                return elapsed

            return best_of(once, repeats)

        naive_s, naive_totals, any_match = run_naive(log)
        reference.update(naive_totals)
        grep_s = best_of(lambda: run_grep(log, cpu)[0], 3)
        grep_count = run_grep(log, cpu)[1]
        assert grep_count == any_match, (grep_count, any_match)
        results["naive re loop"] = {"seconds": naive_s}
        results["grep -cE"] = {"seconds": grep_s}
        for engine in ("hyperscan", "re2", "re"):
            results[f"tocsin ({engine})"] = {
                "seconds": timed_tocsin(engine, repeats=3 if engine != "re" else 1)
            }
        results["tocsin (hyperscan) + level regex"] = {"seconds": timed_tocsin("hyperscan", level=True)}
        results["tocsin (hyperscan) + level + store"] = {
            "seconds": timed_tocsin("hyperscan", repeats=1, level=True, store=True)
        }
        for entry in results.values():
            entry["lines_per_second"] = round(LINES / entry["seconds"])
            entry["seconds"] = round(entry["seconds"], 3)
        tocsin_lps = results["tocsin (hyperscan)"]["lines_per_second"]
        ratios = {
            "tocsin_vs_naive_re": round(tocsin_lps / results["naive re loop"]["lines_per_second"], 2),
            "tocsin_vs_grep": round(tocsin_lps / results["grep -cE"]["lines_per_second"], 2),
            "tocsin_with_levels_vs_naive_re": round(
                results["tocsin (hyperscan) + level regex"]["lines_per_second"]
                / results["naive re loop"]["lines_per_second"],
                2,
            ),
        }
    summary = {
        "lines": LINES,
        "bytes": size,
        "patterns": len(PATTERNS),
        "matching_lines": any_match,
        "cpu": "one core (sched_setaffinity / taskset)",
        "target_lines_per_second": 1_000_000,
        "results": results,
        "ratios": ratios,
        "counts_agree": True,  # asserted above: every tocsin run equals the naive loop's per-pattern totals
    }
    path = write_results("logwatch", summary)
    width = max(map(len, results))
    for name, entry in results.items():
        print(f"{name:<{width}}  {entry['lines_per_second']:>12,} lines/s  ({entry['seconds']} s)")
    print(ratios)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
