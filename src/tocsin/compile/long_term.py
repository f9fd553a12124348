"""The long-term store (``stack.long_term``) in the compiled files: remote_write, flags, manifests.

One function per artefact, all pure:

- :func:`remote_write` — the ``remote_write`` entry every Prometheus gets. An HA pair differs only in
  its ``replica`` external label; each engine deduplicates its own way, so the entry follows it:

  ==========================  =============================================================
  victoriametrics (-cluster)  ``replica`` dropped: the two copies become one series, and
                              ``-dedup.minScrapeInterval`` keeps one sample per interval
  mimir                       ``replica`` renamed ``__replica__`` and a ``cluster`` label added:
                              Mimir's HA tracker accepts one replica and drops the label
  thanos-receive              ``replica`` kept: the querier deduplicates with
                              ``--query.replica-label=replica``
  ==========================  =============================================================

  (Prometheus applies ``write_relabel_configs`` after adding external labels.)
- :func:`victoriametrics_flags` — the single node's command line, shared by ``tocsin up`` (the
  supervised component), docker-compose and the Kubernetes StatefulSet.
- :func:`kubernetes_manifests` — a VictoriaMetrics StatefulSet + Service when it runs with the stack,
  and for every engine a ``Prometheus`` resource (prometheus-operator) carrying the same remote_write,
  two replicas and ``replicaExternalLabelName: replica``, to merge into yours.
"""

from __future__ import annotations

from typing import Any

from tocsin.durations import duration_ms, duration_seconds
from tocsin.spec import LongTerm, Spec, long_term_write_url

__all__ = [
    "VICTORIAMETRICS_IMAGE",
    "kubernetes_manifests",
    "remote_write",
    "victoriametrics_flags",
]

#: The image matching Debian's victoria-metrics package, which the stack is tested with.
VICTORIAMETRICS_IMAGE = "victoriametrics/victoria-metrics:v1.79.5"
_REPLICA = "replica"


def _relabel(lt: LongTerm, app: str) -> list[dict[str, Any]]:
    if lt.engine in ("victoriametrics", "victoriametrics-cluster"):
        return [{"action": "labeldrop", "regex": _REPLICA}]
    if lt.engine == "mimir":
        return [
            {"source_labels": [_REPLICA], "regex": "(.+)", "target_label": "__replica__"},
            {"source_labels": [_REPLICA], "regex": "(.+)", "target_label": "cluster", "replacement": app},
            {"action": "labeldrop", "regex": _REPLICA},
        ]
    return []


def remote_write(spec: Spec, *, replica: int | None = None) -> dict[str, Any] | None:
    """The ``remote_write`` entry for the spec's long-term store (None without one)."""
    lt, url = spec.stack.long_term, long_term_write_url(spec.stack)
    if lt is None or url is None:
        return None
    entry: dict[str, Any] = {"url": url, "name": "long-term"}
    relabel = _relabel(lt, spec.app) if replica is not None else []
    if relabel:
        entry["write_relabel_configs"] = relabel
    if lt.engine == "mimir" and lt.tenant:
        entry["headers"] = {"X-Scope-OrgID": lt.tenant}
    if lt.auth is not None:
        if lt.auth.bearer_token_file:
            entry["authorization"] = {"type": "Bearer", "credentials_file": lt.auth.bearer_token_file}
        else:
            entry["basic_auth"] = {"username": lt.auth.username, "password_file": lt.auth.password_file}
    return entry


def retention_flag(retention: str) -> str:
    """VictoriaMetrics' ``-retentionPeriod`` (h/d/w/y suffixes only; at least a day) for a spec duration."""
    hours = max(24.0, duration_seconds(retention) / 3600)
    return f"{hours:g}h"


def victoriametrics_flags(options: dict[str, Any], *, listen: str, data: str) -> list[str]:
    """Flags of a single-node VictoriaMetrics for the ``stack.long_term`` options (a plain dict, as the
    supervisor's plan carries them: this runs without pydantic)."""
    argv = [
        f"-httpListenAddr={listen}",
        f"-storageDataPath={data}",
        f"-retentionPeriod={retention_flag(str(options.get('retention') or '1y'))}",
    ]
    dedup = options.get("dedup_interval")
    if dedup:
        ms = duration_ms(str(dedup))
        # answers may hide the newest points for this long (default 30 s): two scrapes is enough here
        argv += [f"-dedup.minScrapeInterval={ms}ms", f"-search.latencyOffset={max(1000, 2 * ms)}ms"]
    return argv


def _metadata(spec: Spec, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "labels": {"app.kubernetes.io/part-of": spec.app, "app.kubernetes.io/managed-by": "tocsin"},
    }


def _camel_relabel(rule: dict[str, Any]) -> dict[str, Any]:
    names = {"source_labels": "sourceLabels", "target_label": "targetLabel"}
    return {names.get(k, k): v for k, v in rule.items()}


def _victoriametrics_objects(spec: Spec, lt: LongTerm, name: str) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": name}
    flags = victoriametrics_flags(lt.model_dump(), listen=f":{lt.port}", data="/victoria-metrics-data")
    container = {
        "name": "victoriametrics",
        "image": VICTORIAMETRICS_IMAGE,
        "args": flags,
        "ports": [{"name": "http", "containerPort": lt.port}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "failureThreshold": 3},
        "volumeMounts": [{"name": "data", "mountPath": "/victoria-metrics-data"}],
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(spec, name),
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "50Gi"}},
                    },
                }
            ],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec, name),
        "spec": {"selector": labels, "ports": [{"name": "http", "port": lt.port, "targetPort": "http"}]},
    }
    return [statefulset, service]


def kubernetes_manifests(spec: Spec) -> dict[str, list[dict[str, Any]]]:
    """``{file name: [objects]}`` for ``deploy/kubernetes/`` (empty without a long-term store)."""
    lt = spec.stack.long_term
    if lt is None or not lt.enabled:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    name = f"{spec.app}-victoriametrics".lower().replace("_", "-").replace(".", "-")
    url = lt.url
    if lt.local:
        out["victoriametrics.yaml"] = _victoriametrics_objects(spec, lt, name)
        url = f"http://{name}:{lt.port}/api/v1/write"
    entry = remote_write(spec, replica=0) or {}
    remote: dict[str, Any] = {"url": url, "name": "long-term"}
    if entry.get("write_relabel_configs"):
        remote["writeRelabelConfigs"] = [_camel_relabel(r) for r in entry["write_relabel_configs"]]
    if entry.get("headers"):
        remote["headers"] = entry["headers"]
    prometheus = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": _metadata(spec, spec.app.lower().replace("_", "-").replace(".", "-")),
        "spec": {"replicas": 2, "replicaExternalLabelName": _REPLICA, "remoteWrite": [remote]},
    }
    out["prometheus-remote-write.yaml"] = [prometheus]
    return out
