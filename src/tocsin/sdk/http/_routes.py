"""Route templates from what Starlette and FastAPI routers leave in the scope.

Starlette's router sets ``scope["route"]`` to the route it matched at each level,
so after a mount only the innermost route remains and the mount's prefix is gone.
The prefix is found again by identity, not by matching the path: the router tree
under ``scope["router"]`` (the outermost router) is indexed once, mapping each route
object to the mount templates above it. FastAPI's included routers share route
objects without their include prefix; FastAPI keeps the effective route (with the
prefix) under ``scope["fastapi"]["effective_route_context"]``, which is used first.

Everything is cached per route object: a request costs a few dict look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._core import UNMATCHED

__all__ = ["RouteTemplates"]

_MOUNT_SUFFIX = "/{path}"
_MAX_DEPTH = 32


def _is_mount(route: object) -> bool:
    """Mount and Host route to other routes or apps; endpoint routes do not."""
    return hasattr(route, "routes") and not hasattr(route, "endpoint")


def _mount_prefix(mount: object) -> str:
    path_format = getattr(mount, "path_format", None)  # a Host has none: it adds no path
    return path_format.removesuffix(_MOUNT_SUFFIX) if isinstance(path_format, str) else ""


class _Index:
    """For one top router: the mount prefixes above every route object, and mounts by app."""

    __slots__ = ("by_app", "prefixes", "router")

    def __init__(self, router: object) -> None:
        self.router = router  # keeps the ids below valid
        self.prefixes: dict[int, list[str]] = {}
        self.by_app: dict[int, tuple[object, str]] = {}
        self._walk(router, "", 0)

    def _walk(self, router: object, prefix: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        for route in getattr(router, "routes", None) or ():
            included = getattr(route, "original_router", None)  # FastAPI: prefixes come from FastAPI
            if included is not None:
                self._walk(included, prefix, depth + 1)
                continue
            self.prefixes.setdefault(id(route), []).append(prefix)
            if _is_mount(route):
                inner = prefix + _mount_prefix(route)
                self.by_app.setdefault(id(getattr(route, "app", None)), (route, prefix))
                self._walk(route, inner, depth + 1)


class RouteTemplates:
    """Turns the scope of a routed request into its route template (or ``<unmatched>``)."""

    __slots__ = ("_indexes", "_templates")

    def __init__(self) -> None:
        # id(route or effective route) -> (that object, template or None when it depends on the mount)
        self._templates: dict[int, tuple[object, str | None]] = {}
        self._indexes: dict[int, _Index] = {}

    def of_scope(self, scope: Mapping[str, Any], root_path: str) -> str:
        """The template of the route the router chose; ``root_path`` is the one before routing."""
        route = scope.get("route")
        if route is None:
            return self._mounted_app(scope, root_path)
        key: object = route
        fastapi = scope.get("fastapi")
        if fastapi:
            effective = fastapi.get("effective_route_context")
            if effective is not None and getattr(effective, "original_route", None) is route:
                key = effective
        found = self._templates.get(id(key))
        if found is not None and found[0] is key and found[1] is not None:
            return found[1]
        return self._resolve(scope, route, key, root_path)

    def settled(self, route: object) -> bool:
        """Whether ``route`` alone decides its template (it was resolved and cached as such)."""
        found = self._templates.get(id(route))
        return found is not None and found[0] is route

    def _resolve(self, scope: Mapping[str, Any], route: object, key: object, root_path: str) -> str:
        own: str
        if _is_mount(route):
            if getattr(route, "routes", None):  # a router that matched nothing below the mount
                return UNMATCHED
            own = _mount_prefix(route) + _MOUNT_SUFFIX  # an opaque app (static files): the mount is the route
        else:
            found = getattr(key, "path_format", None) or getattr(key, "path", None)
            if not isinstance(found, str):
                return UNMATCHED
            own = found
        prefixes = self._index(scope).prefixes.get(id(route), [""])
        if len(set(prefixes)) > 1:  # the same routes mounted twice: tell them apart by the mount path
            return _pick(prefixes, str(scope.get("root_path", ""))[len(root_path) :]) + own
        template = prefixes[0] + own
        self._templates[id(key)] = (key, template)
        return template

    def _mounted_app(self, scope: Mapping[str, Any], root_path: str) -> str:
        """No ``scope["route"]``: FastAPI mounts do not set it; find the mount by its app."""
        if scope.get("root_path", "") == root_path:
            return UNMATCHED
        app = scope.get("endpoint")
        found = self._index(scope).by_app.get(id(app))
        if found is None or getattr(found[0], "routes", None):
            return UNMATCHED
        return found[1] + _mount_prefix(found[0]) + _MOUNT_SUFFIX

    def _index(self, scope: Mapping[str, Any]) -> _Index:
        router = scope.get("router")
        index = self._indexes.get(id(router))
        if index is None or index.router is not router:
            index = self._indexes[id(router)] = _Index(router)
        return index


def _pick(prefixes: list[str], concrete: str) -> str:
    """The mount prefix (a template) that the concrete mount path fits; the first one otherwise."""
    for prefix in prefixes:
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(prefix))
        if re.fullmatch(pattern, concrete):
            return prefix
    return prefixes[0]
