"""The commented starter spec ``tocsin init`` writes: valid as it is, every section explained."""

from __future__ import annotations

__all__ = ["STARTER_SPEC"]

STARTER_SPEC = """\
# tocsin monitoring spec: `tocsin check` validates it, `tocsin compile -o out/` writes the
# Prometheus/Alertmanager configs, `tocsin up` runs them. Reference: docs/spec.md
version: tocsin/v1
app: my-app                        # becomes the `app` external label
labels: {environment: dev}         # external labels added to every series and alert

scrape:
  interval: 15s                    # how often Prometheus scrapes
  evaluation_interval: 15s         # how often rules are evaluated

services:                          # what to scrape; each gets a TargetDown alert
  web:
    targets: ["127.0.0.1:8000"]    # host:port; use file_sd: [targets.json] for dynamic lists
    metrics_path: /metrics
    down: {for: 2m, priority: P1}

alerts:
  - name: HighErrorRate            # one definition → a warning and a critical rule
    expr: >-
      sum(rate(http_requests_total{status=~"5.."}[5m]))
      / sum(rate(http_requests_total[5m]))
    warning: "> 0.02"
    critical: "> 0.05"
    for: 5m
    priority: P1                   # P1 pages (repeats every 15m), P2/P3 are tickets
    service: web
    runbook: https://example.org/runbooks/high-error-rate
    summary: "Error rate {{ $value | humanizePercentage }}"

slos:
  - name: web-availability
    objective: 99.5                # percent of good requests over 30 days
    errors: sum(rate(http_requests_total{status=~"5.."}[{{window}}]))
    total: sum(rate(http_requests_total[{{window}}]))

receivers:                         # secrets only by file (or url_env for webhooks)
  team-webhook:
    webhook: {url: "http://127.0.0.1:9095/webhook"}
  # oncall-email:
  #   email: {to: oncall@example.org, from: alerts@example.org, smarthost: "smtp.example.org:587",
  #           auth_username: alerts, auth_password_file: /run/secrets/smtp_password}

routes:                            # P1/P2/P3 first, then critical/warning, then default
  P1: [team-webhook]
  default: [tocsin]                # `tocsin` is the built-in receiver of `tocsin up`

dashboards:
  - title: Web overview
    panels:
      - {title: Requests/s, kind: timeseries, unit: reqps, expr: "sum(rate(http_requests_total[5m]))"}
      - {title: Error ratio, kind: stat, unit: percentunit, alert: HighErrorRate,
         expr: "sum(rate(http_requests_total{status=~\\"5..\\"}[5m])) / sum(rate(http_requests_total[5m]))"}

profiles:                          # `--profile fast` for demos and tests (built in, override here)
  fast: {scrape_interval: 1s, evaluation_interval: 1s, for: 2s, group_wait: 0s}
"""
