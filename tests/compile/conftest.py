"""Specs shared by the compiler tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.spec import Spec, load_spec

SHOP = """\
version: tocsin/v1
app: shop
labels: {environment: production}
services:
  web:
    targets: ["127.0.0.1:8000", "127.0.0.1:8001"]
    labels: {team: storefront}
  worker:
    file_sd: [targets/worker.json]
    basic_auth: {username: prom, password_file: secrets/scrape_password}
    down: {for: 5m, priority: P3, severity: warning}
alerts:
  - name: QueueFull
    expr: max(shop_queue_size)
    warning: "> 10"
    critical: "> 20"
    for: 2m
    priority: P2
    service: worker
  - name: LowConfidence
    expr: avg(ocr_confidence_score)
    warning: "< 90"
    critical: "<= 80"
    for: 10m
    priority: P3
  - name: NoOrders
    expr: sum(increase(shop_orders_total[1h])) == 0
    severity: critical
    for: 30m
    priority: P1
    runbook: https://runbooks.example.org/no-orders
slos:
  - name: checkout
    objective: 99.9
    errors: sum(rate(http_requests_total{route="/checkout",status=~"5.."}[{{window}}]))
    total: sum(rate(http_requests_total{route="/checkout"}[{{window}}]))
    service: web
receivers:
  oncall:
    email: {to: [oncall@example.org, lead@example.org], from: alerts@example.org, smarthost: "127.0.0.1:2525",
            auth_username: alerts, auth_password_file: secrets/smtp_password, require_tls: false}
  chat: {slack: {api_url_file: secrets/slack_url, channel: "#shop"}}
  hook: {webhook: {url_env: SHOP_HOOK_URL}}
routes:
  P1: {receivers: [oncall, chat]}
  P2: [chat]
  warning: [hook]
  default: [tocsin]
remote_write:
  - url: "https://mimir.example.org/api/v1/push"
    name: mimir
    basic_auth: {username: shop, password_file: secrets/mimir}
dashboards:
  - title: Shop
    panels:
      - {title: Queue, kind: stat, expr: max(shop_queue_size), alert: QueueFull}
"""


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    """Write spec text (and the secret files it names) into tmp_path; return the spec path."""

    def write(text: str) -> Path:
        secrets = tmp_path / "secrets"
        secrets.mkdir(exist_ok=True)
        for name in ("scrape_password", "smtp_password", "slack_url", "mimir"):
            (secrets / name).write_text("s3cret", encoding="utf-8")
        path = tmp_path / "tocsin.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def shop(write_spec: Callable[[str], Path]) -> Spec:
    return load_spec(write_spec(SHOP))


ENV = {"SHOP_HOOK_URL": "http://127.0.0.1:9999/hook"}


@pytest.fixture
def shop_text() -> str:
    return SHOP


@pytest.fixture
def env() -> dict[str, str]:
    return dict(ENV)
