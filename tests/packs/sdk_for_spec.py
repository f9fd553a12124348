"""Build the SDK side of a spec's pack entry: the same metrics a service using that pack exposes.

Shared by the catalogue test (names in the definitions exist in the SDK) and the seed-query test.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk import packs
from tocsin.sdk.metrics import Metrics
from tocsin.spec import PackUse


def build(use: PackUse, registry: CollectorRegistry) -> Any:
    """The SDK pack object a service would make for ``use`` (``prefix`` via its Metrics factory)."""
    factory = Metrics(prefix=use.prefix or None, registry=registry)
    params = use.params()
    ns = {} if use.namespace is None else {"namespace": use.namespace}
    kw: dict[str, Any] = {"metrics": factory, **ns}
    match use.use:
        case "jobs":
            return packs.Jobs(items=params["items"], done=params["done"], **kw)
        case "stream":
            return packs.Stream(**kw)
        case "queue":
            return packs.Queue(items=params["items"], type_label=params["type_label"], **kw)
        case "cache":
            return packs.Cache(params["cache"] or "default", **kw)
        case "etl":
            return packs.Etl(**kw)
        case "anomaly":
            return packs.Analytics(**kw)
        case "llm":
            return packs.LLM(
                provider=params["provider"] or "openai", rag_namespace=params["rag_namespace"], **kw
            )
        case "websocket":
            return packs.WebSockets(**kw)
        case "security":
            return packs.Security(**kw)
        case "db":
            return packs.Database(**kw)
        case "client":
            return packs.HttpClient(**kw)
        case "sessions":
            return packs.Sessions(**kw)
        case "frontend":
            return packs.Frontend(**kw)
    raise AssertionError(f"no SDK builder for pack {use.use!r}")


def exposed(registry: CollectorRegistry) -> dict[str, set[str]]:
    """Every sample name the registry can expose (children or not) → its label names."""
    names: dict[str, set[str]] = {}
    for collector in list(registry._collector_to_names):  # the registered collectors
        describe = getattr(collector, "describe", None)
        families = describe() if describe is not None else collector.collect()
        for family in families:
            labels = set(getattr(collector, "_labelnames", ()) or ())
            if not labels and family.samples:
                labels = {k for s in family.samples for k in s.labels}
            if family.type == "counter":
                suffixes = ["_total"]
            elif family.type == "histogram":
                suffixes = ["_bucket", "_sum", "_count"]
                labels_bucket = labels | {"le"}
                names[family.name + "_bucket"] = labels_bucket
            else:
                suffixes = [""]
            for suffix in suffixes:
                names.setdefault(family.name + suffix, set()).update(labels)
            if family.type == "gauge" and family.name.endswith("_by_source"):
                names[family.name].add("source")
    return names
