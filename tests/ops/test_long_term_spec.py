"""``stack.long_term`` in the spec and the compiled files: each engine's write URL, query URL and HA
deduplication, checked by promtool; the Kubernetes and compose files."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tocsin.compile import check_bundle, compile_spec
from tocsin.spec import load_spec, long_term_query_url

SPEC = """version: tocsin/v1
app: shop
scrape: {{interval: 10s}}
stack:
  long_term: {long_term}
services:
  web: {{targets: ["127.0.0.1:8000"]}}
"""


def _load(tmp_path: Path, long_term: str, profile: str | None = None) -> object:
    path = tmp_path / "tocsin.yaml"
    path.write_text(SPEC.format(long_term=long_term))
    return load_spec(path, profile=profile)


def _remote(files: dict[str, str], name: str) -> list[dict[str, object]]:
    return YAML(typ="safe").load(files[f"prometheus/{name}"])["remote_write"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("long_term", "write", "query", "relabel"),
    [
        (
            "victoriametrics",
            "http://127.0.0.1:8428/api/v1/write",
            "http://127.0.0.1:8428",
            [{"action": "labeldrop", "regex": "replica"}],
        ),
        (
            "https://vm.example.org/insert/7/prometheus/api/v1/write",
            "https://vm.example.org/insert/7/prometheus/api/v1/write",
            "https://vm.example.org/select/7/prometheus",
            [{"action": "labeldrop", "regex": "replica"}],
        ),
        (
            "{url: 'https://mimir.example.org/api/v1/push', tenant: shop}",
            "https://mimir.example.org/api/v1/push",
            "https://mimir.example.org/prometheus",
            [
                {"source_labels": ["replica"], "regex": "(.+)", "target_label": "__replica__"},
                {
                    "source_labels": ["replica"],
                    "regex": "(.+)",
                    "target_label": "cluster",
                    "replacement": "shop",
                },
                {"action": "labeldrop", "regex": "replica"},
            ],
        ),
        (
            "{url: 'http://receive:19291/api/v1/receive', query_url: 'http://query:10902'}",
            "http://receive:19291/api/v1/receive",
            "http://query:10902",
            None,
        ),
    ],
)
def test_each_engine_gets_its_write_url_query_url_and_dedup(
    tmp_path: Path, long_term: str, write: str, query: str, relabel: object
) -> None:
    spec = _load(tmp_path, long_term)
    assert long_term_query_url(spec.stack) == query  # type: ignore[attr-defined]
    single = compile_spec(spec)  # type: ignore[arg-type]
    (entry,) = _remote(single.files, "prometheus.yml")
    assert entry["url"] == write and "write_relabel_configs" not in entry  # one server: nothing to dedup
    pair = compile_spec(spec, ha=True)  # type: ignore[arg-type]
    for replica in (0, 1):
        (entry,) = _remote(pair.files, f"prometheus-{replica}.yml")
        assert entry["url"] == write
        assert entry.get("write_relabel_configs") == relabel
    if "mimir" in write:
        assert entry["headers"] == {"X-Scope-OrgID": "shop"}
    pair.write(tmp_path / "out")
    assert check_bundle(tmp_path / "out", spec=spec) == []  # type: ignore[arg-type]


def test_dedup_follows_the_scrape_interval_and_the_profile(tmp_path: Path) -> None:
    assert _load(tmp_path, "victoriametrics").stack.long_term.dedup_interval == "10s"  # type: ignore[attr-defined]
    fast = _load(tmp_path, "victoriametrics", profile="fast")
    assert fast.stack.long_term.dedup_interval == "1s"  # type: ignore[attr-defined]
    files = compile_spec(fast).files  # type: ignore[arg-type]
    compose = YAML(typ="safe").load(files["deploy/docker-compose.yml"])
    assert "-dedup.minScrapeInterval=1000ms" in compose["services"]["victoriametrics"]["command"]


def test_kubernetes_gets_victoriametrics_and_the_prometheus_remote_write(tmp_path: Path) -> None:
    files = compile_spec(_load(tmp_path, "{retention: 2y}")).files  # type: ignore[arg-type]
    statefulset, service = YAML(typ="safe").load_all(files["deploy/kubernetes/victoriametrics.yaml"])
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert (
        "-retentionPeriod=17520h" in container["args"]
        and "-dedup.minScrapeInterval=10000ms" in container["args"]
    )
    assert service["spec"]["ports"][0]["port"] == 8428
    prometheus = YAML(typ="safe").load(files["deploy/kubernetes/prometheus-remote-write.yaml"])
    assert prometheus["kind"] == "Prometheus" and prometheus["spec"]["replicaExternalLabelName"] == "replica"
    (remote,) = prometheus["spec"]["remoteWrite"]
    assert remote["url"] == "http://shop-victoriametrics:8428/api/v1/write"
    assert remote["writeRelabelConfigs"] == [{"action": "labeldrop", "regex": "replica"}]


def test_external_engines_run_nothing_here(tmp_path: Path) -> None:
    from tocsin.stack.components import StackSettings, build_plan
    from tocsin.stack.layout import StackLayout

    for long_term, runs in (("victoriametrics", True), ("https://vm.example.org/api/v1/write", False)):
        spec = _load(tmp_path, long_term)
        settings = StackSettings.from_spec(spec.stack, tmp_path)  # type: ignore[attr-defined]
        names = [c.name for c in build_plan(settings, StackLayout(tmp_path / "state"))]
        assert ("victoriametrics" in names) is runs
        assert names.index("victoriametrics") < names.index("prometheus") if runs else True
