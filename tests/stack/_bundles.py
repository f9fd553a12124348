"""Hand-written configs for supervisor tests that must not depend on the compiler."""

from __future__ import annotations

from tocsin.stack.components import StackSettings

RULES = """groups:
  - name: test
    rules:
      - alert: QueueTooLong
        expr: queue_length > 10
        for: 2s
        labels: {severity: critical}
        annotations: {summary: "queue is {{ $value }} long"}
"""


def hand_bundle(s: StackSettings, *, ha: bool = False, refused_port: int = 0) -> dict[str, str]:
    """prometheus.yml (or the HA pair), one rule file and alertmanager.yml routed to every local sink.

    With ``refused_port``, three broken targets too: nothing listening, a 404 path, a non-metrics page.
    """
    host, port = s.host, s.port
    push, node, rcv = (f"{host}:{port(kind)}" for kind in ("pushgateway", "node_exporter", "receiver"))
    smtp = f"{host}:{port('receiver', 'smtp_port')}"
    ams = [f"{host}:{port('alertmanager')}"]
    if ha:
        ams.append(f"{host}:{s.options('alertmanager')['ha']['port']}")
    broken = ""
    if refused_port:
        broken = f"""  - {{job_name: refused, static_configs: [{{targets: ["{s.host}:{refused_port}"]}}]}}
  - {{job_name: wrong-path, metrics_path: /nope, static_configs: [{{targets: ["{rcv}"]}}]}}
  - {{job_name: not-metrics, metrics_path: /-/ready, static_configs: [{{targets: ["{rcv}"]}}]}}
"""

    def prometheus(replica: str) -> str:
        return f"""global:
  {{scrape_interval: 1s, evaluation_interval: 1s, external_labels: {{replica: "{replica}"}}}}
rule_files: [rules/*.yml]
alerting:
  alert_relabel_configs: [{{action: labeldrop, regex: replica}}]
  alertmanagers: [{{static_configs: [{{targets: {ams}}}]}}]
scrape_configs:
  - {{job_name: pushgateway, honor_labels: true, static_configs: [{{targets: ["{push}"]}}]}}
  - {{job_name: node, static_configs: [{{targets: ["{node}"]}}]}}
  - {{job_name: receiver, static_configs: [{{targets: ["{rcv}"]}}]}}
{broken}"""

    receiver = f"http://{rcv}"
    alertmanager = f"""route:
  receiver: all
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: all
    webhook_configs: [{{url: "{receiver}/webhook", send_resolved: true}}]
    slack_configs: [{{api_url: "{receiver}/slack/T000/B000", channel: "#alerts", send_resolved: true}}]
    email_configs:
      - {{to: oncall@example.org, from: tocsin@example.org, smarthost: "{smtp}",
          require_tls: false, send_resolved: true}}
"""
    files = {"prometheus/rules/test.yml": RULES, "alertmanager/alertmanager.yml": alertmanager}
    if ha:
        files["prometheus/prometheus-0.yml"] = prometheus("0")
        files["prometheus/prometheus-1.yml"] = prometheus("1")
    else:
        files["prometheus/prometheus.yml"] = prometheus("0")
    return files
