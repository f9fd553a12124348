"""Route templates from what Starlette and FastAPI routers leave in the scope, on every version.

Every Starlette router since long before 0.37 writes the innermost thing it
matched into ``scope["endpoint"]``: the endpoint of a ``Route`` (a function or
an ``HTTPEndpoint`` class) or the app of a ``Mount``/``Host``. Only Starlette
1.7 and later (and FastAPI's ``APIRoute`` on any version) also set
``scope["route"]``, and FastAPI's newest router does not set it for plain
Starlette routes (``/docs``, ``add_route``). So the endpoint is the key:

- once per app (per top router, ``scope["router"]``), the route tree is walked:
  every endpoint is mapped to the leaves that carry it, each with its whole
  template (mount prefixes and FastAPI include prefixes joined). The tree is
  walked again only when an endpoint it does not know shows up and the tree
  changed since (a route added after the first request);
- per request, the template of an endpoint carried by one leaf is one dict
  look-up, cached by the middleware. An endpoint on several leaves (one
  function at two paths, the same routes mounted twice, a router included
  twice) is told apart by ``scope["route"]`` when it names one of them, else
  by matching the path against those few leaves' patterns only.

Paths are never matched against the whole app, except for CORS preflights that
``CORSMiddleware`` answers before the router ever runs: they target a real
route, whose template is found by matching the path against the leaves'
pre-compiled patterns (preflights only, and only those the router never saw).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ._core import UNMATCHED

__all__ = ["RouteTemplates"]

_MOUNT_SUFFIX = "/{path}"
_MAX_DEPTH = 32
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")
_PREFLIGHT_HEADER = b"access-control-request-method"
_MIDDLEWARE_HOPS = 64  # how far down the ``.app`` chain a router is looked for
_FRONTEND_PATH = "frontend_path"  # FastAPI >= 0.141 ``app.frontend()``: the file served, in scope["fastapi"]


def _is_mount(route: object) -> bool:
    """Mount and Host route to other routes or apps; endpoint routes do not."""
    return hasattr(route, "routes") and not hasattr(route, "endpoint")


def _mount_prefix(mount: object) -> str:
    path_format = getattr(mount, "path_format", None)  # a Host has none: it adds no path
    return path_format.removesuffix(_MOUNT_SUFFIX) if isinstance(path_format, str) else ""


def _raw_path(route: object, mount: bool) -> str:
    """The path as written, with its convertors (``/users/{id:int}``); a mount's without ``/{path}``."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or getattr(route, "path_format", None) is None:
        return ""  # a Host, or something that is no path route
    return path.rstrip("/") if mount else path


class _Leaf:
    """One place of the tree a request can end at: a route, or an app mounted as a whole."""

    __slots__ = ("_regex", "methods", "pattern", "route", "template")

    def __init__(self, route: object, template: str | None, pattern: str) -> None:
        self.route = route
        self.template = template  # None: the include prefix above is unknown (ask FastAPI)
        self.pattern = pattern  # the whole path, convertors included, for the rare match
        methods = getattr(route, "methods", None)
        self.methods: frozenset[str] | None = frozenset(methods) if methods else None
        self._regex: re.Pattern[str] | None = None

    def matches(self, path: str) -> bool:
        regex = self._regex
        if regex is None:
            regex = self._regex = _compile(self.pattern)
        return regex.fullmatch(path) is not None


def _compile(pattern: str) -> re.Pattern[str]:
    """Starlette's own regex for the joined path, groups unnamed (a mount and its route may
    reuse a parameter name)."""
    try:
        from starlette.routing import compile_path

        regex = compile_path(pattern)[0].pattern
    except Exception:  # not a Starlette path (or Starlette refuses it): never matches
        return re.compile(r"(?!)")
    return re.compile(_NAMED_GROUP.sub("(?:", regex.removeprefix("^").removesuffix("$")))


class _Index:
    """For one top router: the leaves in routing order, and the leaves of every endpoint."""

    __slots__ = ("by_endpoint", "leaves", "router", "shape")

    def __init__(self, router: object) -> None:
        self.router = router  # keeps the ids below valid
        self.leaves: list[_Leaf] = []
        # id(endpoint) -> (the endpoint, its leaves): the endpoint is kept so the id stays its own
        self.by_endpoint: dict[int, tuple[object, list[_Leaf]]] = {}
        self._walk(router, "", "", 0)
        self.shape = _shape(router)

    def _walk(self, router: object, prefix: str | None, pattern: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        for route in getattr(router, "routes", None) or ():
            included = getattr(route, "original_router", None)
            if included is not None:  # FastAPI's newest include_router: the original, shared
                added = getattr(getattr(route, "include_context", None), "prefix", None)
                if isinstance(added, str) and prefix is not None:
                    self._walk(included, prefix + added, pattern + added, depth + 1)
                else:
                    self._walk(included, None, pattern, depth + 1)
                continue
            if _is_mount(route):
                own = _mount_prefix(route)
                inner = None if prefix is None else prefix + own
                raw = pattern + _raw_path(route, mount=True)
                opaque = not getattr(route, "routes", None)  # an app (static files): the mount is the route
                template = None if inner is None else (inner + _MOUNT_SUFFIX if opaque else UNMATCHED)
                self._add(getattr(route, "app", None), _Leaf(route, template, raw + "/{path:path}"))
                self._walk(route, inner, raw, depth + 1)
                continue
            found = getattr(route, "path_format", None)
            endpoint = getattr(route, "endpoint", None)
            if isinstance(found, str) and endpoint is not None:
                template = None if prefix is None else prefix + found
                self._add(endpoint, _Leaf(route, template, pattern + _raw_path(route, mount=False)))

    def _add(self, endpoint: object, leaf: _Leaf) -> None:
        self.leaves.append(leaf)
        self.by_endpoint.setdefault(id(endpoint), (endpoint, []))[1].append(leaf)


def _routers(router: object, depth: int = 0) -> Iterator[object]:
    """Every router of the tree (mounts and FastAPI includes followed)."""
    yield router
    if depth > _MAX_DEPTH:
        return
    for route in getattr(router, "routes", None) or ():
        below = getattr(route, "original_router", None)
        if below is None and _is_mount(route):
            below = route
        if below is not None:
            yield from _routers(below, depth + 1)


def _shape(router: object) -> tuple[tuple[int, int], ...]:
    """What changes when a route is added anywhere: each routes list's identity and length."""
    shape = []
    for found in _routers(router):
        routes = getattr(found, "routes", None) or ()
        shape.append((id(routes), len(routes)))
    return tuple(shape)


class RouteTemplates:
    """Turns the scope of a routed request into its route template (or ``<unmatched>``)."""

    __slots__ = ("_app", "_indexes", "_router", "_settled")

    def __init__(self, app: object = None) -> None:
        self._app = app  # what the middleware wraps: its router is found below it when needed
        self._indexes: dict[int, _Index] = {}
        self._router: object = None  # the app's router, for requests answered before routing
        # id(endpoint or route) -> it, for those that alone decide the template: an endpoint one
        # leaf carries, or a route object (``scope["route"]``) at one place of the tree
        self._settled: dict[int, object] = {}

    def of_scope(self, scope: Mapping[str, Any], root_path: str) -> str:
        """The template of the route the router chose; ``root_path`` is the one before routing."""
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return self._unrouted(scope, root_path)
        index = self._index(scope)
        if index is None:
            return UNMATCHED
        found = self._lookup(index, scope, endpoint, root_path)
        if found is None and index.shape != _shape(index.router):  # routes added since the walk
            index = self._indexes[id(index.router)] = _Index(index.router)
            found = self._lookup(index, scope, endpoint, root_path)
        return UNMATCHED if found is None else found

    def settled(self, scope: Mapping[str, Any]) -> object:
        """What decides the template of this routed scope alone, to cache it by: the endpoint (when
        one leaf carries it) or the route (``scope["route"]`` at one place of the tree); else None."""
        endpoint = scope.get("endpoint")
        if self._settled.get(id(endpoint)) is endpoint:
            return endpoint
        route = scope.get("route")
        if self._settled.get(id(route)) is route and getattr(route, "endpoint", None) is endpoint:
            return route
        return None

    def _lookup(
        self, index: _Index, scope: Mapping[str, Any], endpoint: object, root_path: str
    ) -> str | None:
        """The template of ``endpoint`` in ``index``; None when the index does not know where it is."""
        entry = index.by_endpoint.get(id(endpoint))
        if entry is None or entry[0] is not endpoint:
            return None  # an app this tree does not hold (an outer app's mount), or added since
        leaves = entry[1]
        if len(leaves) == 1 and leaves[0].template is not None:
            if id(endpoint) not in self._settled:
                self._settled[id(endpoint)] = endpoint
            return leaves[0].template
        return self._choose(scope, leaves, root_path)

    def _choose(self, scope: Mapping[str, Any], leaves: list[_Leaf], root_path: str) -> str | None:
        """One endpoint, several leaves: the one ``scope["route"]`` names, else the one the path fits."""
        route = scope.get("route")
        named = [leaf for leaf in leaves if leaf.route is route] or leaves
        if named[0].template is None:  # under a FastAPI include whose prefix was not readable
            return _effective_template(scope, route)
        if len({leaf.template for leaf in named}) == 1:
            if len(named) == 1 and named[0].route is route:
                self._settled[id(route)] = route
            return named[0].template
        for path in dict.fromkeys((_route_path(scope, root_path), str(scope.get("path", "")))):
            for leaf in named:
                if leaf.template is not None and leaf.matches(path):
                    return leaf.template
        return None

    def _index(self, scope: Mapping[str, Any]) -> _Index | None:
        router = scope.get("router")
        if router is None:
            return None
        self._router = router
        index = self._indexes.get(id(router))
        if index is None or index.router is not router:
            index = self._indexes[id(router)] = _Index(router)
        return index

    def _unrouted(self, scope: Mapping[str, Any], root_path: str) -> str:
        """No endpoint: no route matched, or the request was answered before routing. A CORS
        preflight answered so carries the route it asks about; a file of FastAPI's
        ``app.frontend(path, directory=...)`` (no endpoint either) is ``<path>/{path}``."""
        fastapi = scope.get("fastapi")
        if isinstance(fastapi, dict) and isinstance(fastapi.get(_FRONTEND_PATH), str):
            return _frontend_template(_route_path(scope, root_path), fastapi[_FRONTEND_PATH])
        if scope.get("method") != "OPTIONS" or "router" in scope:
            return UNMATCHED
        asked = None
        for key, value in scope.get("headers", ()):
            if key == _PREFLIGHT_HEADER:
                asked = value.decode("latin-1").strip().upper()
                break
        if asked is None:
            return UNMATCHED
        router = self._router
        if router is None:
            router = self._router = _router_below(self._app)
            if router is None:
                return UNMATCHED
        index = self._indexes.get(id(router))
        if index is None or index.router is not router:
            index = self._indexes[id(router)] = _Index(router)
        path = _route_path(scope, root_path)
        fallback = UNMATCHED
        for leaf in index.leaves:
            if leaf.template is None or leaf.template == UNMATCHED or not leaf.matches(path):
                continue
            if leaf.methods is None or asked in leaf.methods:
                return leaf.template
            if fallback == UNMATCHED:
                fallback = leaf.template  # the path's route, asked for a method it refuses
        return fallback


def _frontend_template(path: str, served: str) -> str:
    """``app.frontend("/app", ...)`` serving ``served`` for ``path`` (``/app/<served>``): ``/app/{path}``."""
    base = path[: len(path) - len(served)] if served and path.endswith(served) else path
    return base.rstrip("/") + _MOUNT_SUFFIX


def _router_below(app: object) -> object:
    """The router at the end of a middleware chain (each middleware holds the next as ``.app``)."""
    for _ in range(_MIDDLEWARE_HOPS):
        if app is None:
            return None
        if hasattr(app, "routes"):
            return getattr(app, "router", app)  # a Starlette or FastAPI app, or a router itself
        app = getattr(app, "app", None)
    return None


def _route_path(scope: Mapping[str, Any], root_path: str) -> str:
    """The path below ``root_path``, the mount point of the app the middleware wraps."""
    path = str(scope.get("path", ""))
    if root_path and path.startswith(root_path):
        return path[len(root_path) :] or "/"
    return path


def _effective_template(scope: Mapping[str, Any], route: object) -> str:
    """FastAPI's own effective route (include prefixes applied) for a route of ``route``."""
    fastapi = scope.get("fastapi")
    effective = fastapi.get("effective_route_context") if isinstance(fastapi, dict) else None
    if effective is None or getattr(effective, "original_route", None) is not route:
        return UNMATCHED
    found = getattr(effective, "path_format", None) or getattr(effective, "path", None)
    return found if isinstance(found, str) else UNMATCHED
