"""The local stack's default loopback ports, in one place.

The spec's ``stack:`` defaults, ``tocsin up``, the components' own command lines and the demo all read
them from here, so moving one is a one-line change. They are the upstream projects' usual ports where
there is one (Prometheus 9090, Alertmanager 9093/9094, Pushgateway 9091, node-exporter 9100) and
free neighbours of them for tocsin's own processes. Every one binds 127.0.0.1 unless the spec's
``stack.host`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ALERTMANAGER",
    "ALERTMANAGER_CLUSTER",
    "CONSOLE",
    "DEFAULT_PORTS",
    "HA_ALERTMANAGER",
    "HA_ALERTMANAGER_CLUSTER",
    "HA_PROMETHEUS",
    "LOGWATCH",
    "LOGWATCH_STANDALONE",
    "NODE_EXPORTER",
    "POSTGRES_EXPORTER",
    "PROMETHEUS",
    "PUSHGATEWAY",
    "RECEIVER",
    "RECEIVER_SMTP",
    "REDIS_EXPORTER",
    "VICTORIAMETRICS",
]

PROMETHEUS = 9090
PUSHGATEWAY = 9091
ALERTMANAGER = 9093
#: Alertmanager's gossip port, used only when two instances cluster (``tocsin up --ha``)
ALERTMANAGER_CLUSTER = 9094
RECEIVER = 9095
#: the receiver's SMTP sink (no TLS, no auth: loopback only)
RECEIVER_SMTP = 2525
CONSOLE = 9096
#: the log watcher as ``tocsin up`` runs it (on the spec's ``logs:`` section)
LOGWATCH = 9098
#: ``tocsin logwatch`` run on its own, outside a stack
LOGWATCH_STANDALONE = 9465
NODE_EXPORTER = 9100
#: Debian's exporters for the servers the cache and db packs use (their upstream ports), off by default
REDIS_EXPORTER = 9121
POSTGRES_EXPORTER = 9187
#: VictoriaMetrics single node (``stack.long_term``: its upstream port)
VICTORIAMETRICS = 8428
#: the second replicas of ``tocsin up --ha``
HA_PROMETHEUS = 9190
HA_ALERTMANAGER = 9193
HA_ALERTMANAGER_CLUSTER = 9194

#: every default above by name, for tables and for picking free alternatives (the demo)
DEFAULT_PORTS: Mapping[str, int] = MappingProxyType(
    {
        "prometheus": PROMETHEUS,
        "pushgateway": PUSHGATEWAY,
        "alertmanager": ALERTMANAGER,
        "alertmanager_cluster": ALERTMANAGER_CLUSTER,
        "receiver": RECEIVER,
        "receiver_smtp": RECEIVER_SMTP,
        "console": CONSOLE,
        "logwatch": LOGWATCH,
        "logwatch_standalone": LOGWATCH_STANDALONE,
        "node_exporter": NODE_EXPORTER,
        "redis_exporter": REDIS_EXPORTER,
        "postgres_exporter": POSTGRES_EXPORTER,
        "victoriametrics": VICTORIAMETRICS,
        "ha_prometheus": HA_PROMETHEUS,
        "ha_alertmanager": HA_ALERTMANAGER,
        "ha_alertmanager_cluster": HA_ALERTMANAGER_CLUSTER,
    }
)
