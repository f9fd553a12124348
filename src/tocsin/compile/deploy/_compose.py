"""``deploy/docker-compose.yml``: the compiled bundle run by pinned upstream images.

The compiled configs address every component and every monitored target as
``127.0.0.1:<port>``, so the containers share the host's network namespace
(``network_mode: host``) and each one is told to listen on the stack's host
address (127.0.0.1 by default) only: nothing is reachable from outside the
machine, and no port needs publishing. Configuration is mounted read-only from
the bundle (paths relative to ``deploy/``); every secret file the spec names is
mounted read-only at the very path the configs use, and must exist
(``create_host_path: false``: a missing file fails ``docker compose up``
instead of becoming an empty directory).
"""

from __future__ import annotations

from typing import Any

from tocsin.compile.deploy._secrets import secret_files
from tocsin.compile.grafana import DASHBOARDS_DIR, GRAFANA_PORT, LOKI_PORT
from tocsin.compile.long_term import VICTORIAMETRICS_IMAGE, victoriametrics_flags
from tocsin.spec import Spec

__all__ = ["IMAGES", "LOKI_GRPC_PORT", "compose_document"]

#: Pinned images: the Prometheus family matches the Debian packages tocsin is tested with.
IMAGES = {
    "prometheus": "prom/prometheus:v2.42.0",
    "alertmanager": "prom/alertmanager:v0.25.0",
    "pushgateway": "prom/pushgateway:v1.5.1",
    "node-exporter": "prom/node-exporter:v1.5.0",
    "grafana": "grafana/grafana:10.1.5",  # the schema grafana-foundation-sdk 10.1 writes
    "loki": "grafana/loki:2.9.2",
}
#: Loki's gRPC port, moved off its default 9095 (the stack's receiver port).
LOKI_GRPC_PORT = 9097


def _bind(source: str, target: str, **bind: Any) -> dict[str, Any]:
    mount: dict[str, Any] = {"type": "bind", "source": source, "target": target, "read_only": True}
    return {**mount, "bind": bind} if bind else mount


def _secret_mounts(spec: Spec, component: str, extra: list[str]) -> list[dict[str, Any]]:
    paths = [s.path for s in secret_files(spec) if s.component == component and s.env is None] + extra
    return [_bind(path, path, create_host_path=False) for path in dict.fromkeys(paths)]


def _service(image: str, command: list[str], volumes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    service = {"image": IMAGES[image], "restart": "unless-stopped", "network_mode": "host", **extra}
    if command:
        service["command"] = command
    if volumes:
        service["volumes"] = volumes
    return service


def _prometheus(spec: Spec, ha: bool) -> dict[str, dict[str, Any]]:
    stack = spec.stack
    file_sd = [path for service in spec.services.values() for path in service.file_sd]
    secrets = _secret_mounts(spec, "prometheus", file_sd)
    replicas = [stack.prometheus, stack.ha.prometheus] if ha else [stack.prometheus]
    services: dict[str, dict[str, Any]] = {}
    for index, component in enumerate(replicas):
        name = f"prometheus-{index}" if ha else "prometheus"
        config = f"prometheus-{index}.yml" if ha else "prometheus.yml"
        services[name] = _service(
            "prometheus",
            [
                f"--config.file=/etc/prometheus/{config}",
                "--storage.tsdb.path=/prometheus",
                f"--storage.tsdb.retention.time={component.retention}",
                f"--web.listen-address={stack.host}:{component.port}",
                "--web.enable-lifecycle",
            ],
            [_bind("../prometheus", "/etc/prometheus"), _volume(f"{name}-data", "/prometheus"), *secrets],
        )
    return services


def _volume(name: str, target: str) -> dict[str, Any]:
    return {"type": "volume", "source": name, "target": target}


def _alertmanager(spec: Spec, ha: bool) -> dict[str, dict[str, Any]]:
    stack, host = spec.stack, spec.stack.host
    if not stack.alertmanager.enabled:
        return {}
    secrets = _secret_mounts(spec, "alertmanager", [])
    pair = [stack.alertmanager, stack.ha.alertmanager]
    services: dict[str, dict[str, Any]] = {}
    for index, component in enumerate(pair if ha else pair[:1]):
        name = f"alertmanager-{index}" if ha else "alertmanager"
        if ha:
            peer = pair[1 - index]
            cluster = [
                f"--cluster.listen-address={host}:{component.cluster_port}",
                f"--cluster.peer={host}:{peer.cluster_port}",
            ]
        else:
            cluster = ["--cluster.listen-address="]  # no gossip port when alone
        env_secrets = [{"source": s.key, "target": s.path} for s in secret_files(spec) if s.env]
        services[name] = _service(
            "alertmanager",
            [
                "--config.file=/etc/alertmanager/alertmanager.yml",
                "--storage.path=/alertmanager",
                f"--web.listen-address={host}:{component.port}",
                *cluster,
            ],
            [
                _bind("../alertmanager", "/etc/alertmanager"),
                _volume(f"{name}-data", "/alertmanager"),
                *secrets,
            ],
            **({"secrets": env_secrets} if env_secrets else {}),
        )
    return services


def _exporters(spec: Spec) -> dict[str, dict[str, Any]]:
    stack, host = spec.stack, spec.stack.host
    services: dict[str, dict[str, Any]] = {}
    if stack.pushgateway.enabled:
        services["pushgateway"] = _service(
            "pushgateway", [f"--web.listen-address={host}:{stack.pushgateway.port}"], []
        )
    if stack.node_exporter.enabled:
        services["node-exporter"] = _service(
            "node-exporter",
            ["--path.rootfs=/host", f"--web.listen-address={host}:{stack.node_exporter.port}"],
            [_bind("/", "/host", propagation="rslave")],
            pid="host",
        )
    return services


def _grafana_and_loki(spec: Spec) -> dict[str, dict[str, Any]]:
    host = spec.stack.host
    grafana = _service(
        "grafana",
        [],
        [
            _bind("../grafana/provisioning", "/etc/grafana/provisioning"),
            _bind("../grafana/dashboards", DASHBOARDS_DIR),
            _volume("grafana-data", "/var/lib/grafana"),
        ],
        environment={
            "GF_SERVER_HTTP_ADDR": host,
            "GF_SERVER_HTTP_PORT": str(GRAFANA_PORT),
            # No default password: compose refuses to start until it is set.
            "GF_SECURITY_ADMIN_PASSWORD": "${GRAFANA_ADMIN_PASSWORD:?set GRAFANA_ADMIN_PASSWORD}",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_AUTH_ANONYMOUS_ENABLED": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        },
    )
    loki = _service(
        "loki",
        [
            "-config.file=/etc/loki/local-config.yaml",
            f"-server.http-listen-address={host}",
            f"-server.http-listen-port={LOKI_PORT}",
            f"-server.grpc-listen-address={host}",
            f"-server.grpc-listen-port={LOKI_GRPC_PORT}",
        ],
        [_volume("loki-data", "/loki")],
    )
    return {"grafana": grafana, "loki": loki}


def _long_term(spec: Spec) -> dict[str, dict[str, Any]]:
    """VictoriaMetrics with the flags ``tocsin up`` gives it, when the stack runs one (compile/long_term)."""
    lt = spec.stack.long_term
    if lt is None or not lt.enabled or not lt.local:
        return {}
    flags = victoriametrics_flags(lt.model_dump(), listen=f"{spec.stack.host}:{lt.port}", data="/storage")
    service = {"image": VICTORIAMETRICS_IMAGE, "restart": "unless-stopped", "network_mode": "host"}
    return {
        "victoriametrics": {
            **service,
            "command": flags,
            "volumes": [_volume("victoriametrics-data", "/storage")],
        }
    }


def compose_document(spec: Spec, *, ha: bool = False) -> dict[str, Any]:
    """The docker-compose.yml document (Compose specification, ``docker compose`` v2)."""
    services = {
        **_prometheus(spec, ha),
        **_alertmanager(spec, ha),
        **_exporters(spec),
        **_long_term(spec),
        **_grafana_and_loki(spec),
    }
    volumes = sorted(
        {v["source"] for s in services.values() for v in s.get("volumes", []) if v["type"] == "volume"}
    )
    document: dict[str, Any] = {
        "name": f"tocsin-{spec.app}".lower().replace(".", "-"),
        "services": services,
        "volumes": {name: {} for name in volumes},
    }
    from_env = {s.key: {"environment": s.env} for s in secret_files(spec) if s.env}
    if from_env:  # *_env secrets: compose reads the variable when it starts the stack
        document["secrets"] = from_env
    return document
