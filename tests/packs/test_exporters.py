"""The cache and db packs' servers through Debian's exporters, run by the stack's own supervisor."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_ports

from tocsin.compile import compile_spec
from tocsin.errors import SpecError
from tocsin.spec import load_spec
from tocsin.stack import StackLayout, StackSettings, Supervisor, build_plan

pytestmark = pytest.mark.integration


def test_redis_and_postgres_exporters_run_supervised(tmp_path: Path) -> None:
    redis_port, pg_port = free_ports(2)
    secret = tmp_path / "pg_password"
    secret.write_text("not-needed-with-trust\n")
    settings = StackSettings(
        state_dir=tmp_path,
        components={
            "redis_exporter": {"port": redis_port, "address": "redis://127.0.0.1:6379"},
            "postgres_exporter": {
                "port": pg_port, "uri": "127.0.0.1:5432/test?sslmode=disable", "user": "postgres",
                "password_file": str(secret),
            },
        },
    )  # fmt: skip
    layout = StackLayout(tmp_path)
    plan = build_plan(settings, layout)
    assert [c.name for c in plan] == ["redis-exporter", "postgres-exporter"]
    postgres = plan[1]
    assert postgres.env["DATA_SOURCE_PASS_FILE"] == str(secret)
    assert "not-needed" not in " ".join(postgres.argv) + str(postgres.env)  # a path, never the secret
    supervisor = Supervisor(plan, layout)
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=supervisor.serve, kwargs={"on_ready": lambda _: ready.set(), "stop": stop}
    )
    thread.start()
    try:
        assert ready.wait(60), "exporters not ready in 60 s"
        redis = httpx.get(f"http://127.0.0.1:{redis_port}/metrics", timeout=10).text
        assert "redis_up 1" in redis and "redis_memory_used_bytes " in redis
        pg = httpx.get(f"http://127.0.0.1:{pg_port}/metrics", timeout=30).text
        assert "pg_up 1" in pg and "pg_stat_database_numbackends{" in pg
    finally:
        stop.set()
        thread.join(30)


def test_enabled_exporters_are_scraped(tmp_path: Path) -> None:
    spec_file = tmp_path / "tocsin.yaml"
    spec_file.write_text(
        "version: tocsin/v1\napp: x\nstack:\n  redis_exporter: {enabled: true}\n"
        "  postgres_exporter: {enabled: true, uri: '127.0.0.1:5432/app'}\n"
        "packs:\n  - {use: cache, redis_exporter: true}\n  - {use: db, postgres_exporter: true}\n"
    )
    config = compile_spec(load_spec(spec_file)).files["prometheus/prometheus.yml"]
    assert "job_name: redis" in config and "127.0.0.1:9121" in config
    assert "job_name: postgres" in config and "127.0.0.1:9187" in config


@pytest.mark.parametrize(
    "component",
    [
        "redis_exporter: {address: 'redis://:hunter2@127.0.0.1:6379'}",
        "postgres_exporter: {uri: 'postgresql://u:p@h/db'}",
    ],
)
def test_credentials_in_the_spec_are_refused(tmp_path: Path, component: str) -> None:
    spec_file = tmp_path / "tocsin.yaml"
    spec_file.write_text(f"version: tocsin/v1\napp: x\nstack:\n  {component}\n")
    with pytest.raises(SpecError, match=r"password_file|no credentials"):
        load_spec(spec_file)
