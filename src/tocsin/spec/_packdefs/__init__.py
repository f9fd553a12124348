"""The packs' alert, panel and recording-rule definitions: plain data, shared by the spec, the docs and tests.

Why here and not next to the SDK classes: the spec layer must not import the
SDK (nor the SDK the spec), and both must agree on metric names. The
definitions live in the spec layer as data; ``tests/packs/test_catalogue.py``
runs every SDK pack and checks that each metric these expressions name is one
the pack really exposes, with the same parameters, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._ai import LLM
from ._data import ANOMALY, CACHE, DB, ETL
from ._model import AlertDef, PackDef, PanelDef, RecordDef
from ._web import CLIENT, FRONTEND, SECURITY, SESSIONS, WEBSOCKET
from ._work import JOBS, QUEUE, STREAM

__all__ = ["PACKS", "AlertDef", "PackDef", "PanelDef", "RecordDef"]

#: Every pack by name, in the order the docs list them.
PACKS: Mapping[str, PackDef] = MappingProxyType(
    {
        p.name: p
        for p in (
            JOBS,
            STREAM,
            QUEUE,
            CACHE,
            ETL,
            ANOMALY,
            LLM,
            WEBSOCKET,
            SECURITY,
            DB,
            CLIENT,
            SESSIONS,
            FRONTEND,
        )
    }
)
