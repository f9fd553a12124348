"""Browser metrics (seed 002): a small JS beacon and the endpoint that turns its reports into metrics.

::

    from tocsin.sdk.packs import Frontend

    frontend = Frontend()
    app.mount("/_tocsin/rum", frontend.asgi_app())          # Starlette / FastAPI
    # Flask: app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/_tocsin/rum": frontend.wsgi_app()})
    # Django: path("_tocsin/rum", frontend.django_view())

    <script src="/_tocsin/rum" defer></script>               # GET serves the beacon, POST takes reports

The beacon (``static/beacon.js``, ~4 KB, no dependency) reports First Contentful
Paint, Time to Interactive (Lighthouse's definition without its network rule),
JavaScript errors and the timings of same-origin ``fetch``/``XMLHttpRequest``
calls. Metrics (namespace ``frontend``):
``first_contentful_paint_seconds{page}``, ``time_to_interactive_seconds{page}``
(histograms, 50 ms to 30 s), ``js_errors_total{page}``,
``api_request_duration_seconds{endpoint, method}``,
``api_requests_total{endpoint, method, status}`` (``status`` is the class:
``2xx``... or ``failed``) and ``beacons_rejected_total{reason}``.

Labels are bounded whatever the browser sends (the endpoint is public): paths
lose their query, segments that look like ids become ``:id``, and past
``max_pages`` distinct pages (``max_endpoints`` API paths) new ones count as
``other``; ``pages=`` lists the only pages to keep, everything else being
``other``. Bodies over 64 KiB, malformed JSON and out-of-range numbers are
refused with a 400 and counted, never half-recorded.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from tocsin.sdk._types import ASGIApp, Environ, Receive, Scope, Send, StartResponse, WSGIApp
from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics
from ._buckets import PAGE_BUCKETS

__all__ = ["MAX_BODY", "Frontend", "normalise_path"]

#: Largest report accepted, in bytes.
MAX_BODY = 64 * 1024
_MAX_SECONDS = 600.0
_MAX_API = 200
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|"
    r"[0-9a-fA-F]{16,}|[A-Za-z0-9_-]{24,})$"
)
OTHER = "other"


def normalise_path(path: str) -> str:
    """``/books/42?x=1`` → ``/books/:id``: no query or fragment, id-like segments folded, 8 segments kept."""
    path = path.split("?", 1)[0].split("#", 1)[0][:512]
    segments = [s for s in path.split("/") if s][:8]
    return "/" + "/".join(":id" if _ID_SEGMENT.match(s) else s[:64] for s in segments)


class _Bounded:
    """Remembers up to ``limit`` distinct values; later new ones become ``other``."""

    def __init__(self, limit: int, allowed: Iterable[str] | None) -> None:
        self.limit = limit
        self.allowed = frozenset(allowed) if allowed is not None else None
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if self.allowed is not None:
            return value if value in self.allowed else OTHER
        if value in self.seen:
            return value
        with self.lock:
            if len(self.seen) >= self.limit:
                return OTHER
            self.seen.add(value)
        return value


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _seconds(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Rejected("bad_value")
    if not 0 <= value <= _MAX_SECONDS:
        raise _Rejected("out_of_range")
    return float(value)


class Frontend:
    """The beacon endpoint and its metrics (see the module docstring)."""

    def __init__(
        self,
        *,
        pages: Iterable[str] | None = None,
        max_pages: int = 100,
        max_endpoints: int = 200,
        namespace: str = "frontend",
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.fcp = pack.histogram(
            "first_contentful_paint_seconds",
            "First Contentful Paint, by page.",
            ["page"],
            buckets=PAGE_BUCKETS,
        )
        self.tti = pack.histogram(
            "time_to_interactive_seconds", "Time to Interactive, by page.", ["page"], buckets=PAGE_BUCKETS
        )
        self.js_errors = pack.counter("js_errors_total", "JavaScript errors, by page.", ["page"])
        self.api_duration = pack.histogram(
            "api_request_duration_seconds", "API calls made by the pages, as the browser timed them.",
            ["endpoint", "method"], buckets=PAGE_BUCKETS,
        )  # fmt: skip
        self.api_requests = pack.counter(
            "api_requests_total",
            "API calls made by the pages, by status class.",
            ["endpoint", "method", "status"],
        )
        self.rejected = pack.counter(
            "beacons_rejected_total", "Beacon reports refused, by reason.", ["reason"]
        )
        self._page = _Bounded(max_pages, pages)
        self._endpoint = _Bounded(max_endpoints, None)
        self.script: bytes = resources.files(__package__).joinpath("static/beacon.js").read_bytes()

    def handle(self, body: bytes) -> int:
        """Record one report; returns the HTTP status to answer (204, or 400/413 when refused)."""
        try:
            if len(body) > MAX_BODY:
                raise _Rejected("too_large")
            try:
                report = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise _Rejected("malformed") from None
            if not isinstance(report, dict) or not isinstance(report.get("page"), str):
                raise _Rejected("malformed")
            self._record(report)
        except _Rejected as rejected:
            self.rejected.labels(rejected.reason).inc()
            return 413 if rejected.reason == "too_large" else 400
        return 204

    def _record(self, report: dict[str, Any]) -> None:
        """Validate everything first, then record: a bad field refuses the whole report."""
        fcp = _seconds(report["fcp"], "fcp") if report.get("fcp") is not None else None
        tti = _seconds(report["tti"], "tti") if report.get("tti") is not None else None
        errors = report.get("errors", 0)
        if isinstance(errors, bool) or not isinstance(errors, int) or not 0 <= errors <= 1000:
            raise _Rejected("bad_value")
        calls = report.get("api", [])
        if not isinstance(calls, list) or len(calls) > _MAX_API:
            raise _Rejected("malformed")
        checked = []
        for call in calls:
            if not isinstance(call, dict) or not isinstance(call.get("path"), str):
                raise _Rejected("malformed")
            method = call.get("method", "GET")
            status = call.get("status", 0)
            if not isinstance(method, str) or isinstance(status, bool) or not isinstance(status, int):
                raise _Rejected("malformed")
            method = method.upper() if method.upper() in _METHODS else "other"
            status_class = f"{status // 100}xx" if 100 <= status <= 599 else "failed"
            checked.append(
                (normalise_path(call["path"]), method, status_class, _seconds(call.get("duration"), ""))
            )
        page = self._page(normalise_path(report["page"]))
        if fcp is not None:
            self.fcp.labels(page).observe(fcp)
        if tti is not None:
            self.tti.labels(page).observe(tti)
        if errors:
            self.js_errors.labels(page).inc(errors)
        for path, method, status_class, seconds in checked:
            endpoint = self._endpoint(path)
            self.api_requests.labels(endpoint, method, status_class).inc()
            self.api_duration.labels(endpoint, method).observe(seconds)

    def script_tag(self, url: str) -> str:
        """The ``<script>`` element loading the beacon from the endpoint mounted at ``url``."""
        return f'<script src="{url}" defer></script>'

    def asgi_app(self) -> ASGIApp:
        """A pure ASGI app: ``GET`` serves the beacon script, ``POST`` takes a report."""
        return _asgi(self)

    def wsgi_app(self) -> WSGIApp:
        """The WSGI twin of :meth:`asgi_app` (Flask through ``DispatcherMiddleware``)."""
        return _wsgi(self)

    def django_view(self) -> Callable[[Any], Any]:
        """A Django view (CSRF-exempt: ``sendBeacon`` carries no token, and the report changes no state)."""
        from django.http import HttpResponse
        from django.views.decorators.csrf import csrf_exempt

        def view(request: Any) -> Any:
            status, headers, body = self._answer(request.method, lambda: request.body)
            response = HttpResponse(body, status=status)
            for name, value in headers:
                response[name] = value
            return response

        return csrf_exempt(view)  # type: ignore[no-any-return]

    def _answer(self, method: str, read: Callable[[], bytes]) -> tuple[int, list[tuple[str, str]], bytes]:
        if method in ("GET", "HEAD"):
            headers = [
                ("Content-Type", "text/javascript; charset=utf-8"),
                ("Cache-Control", "public, max-age=3600"),
            ]
            return 200, headers, self.script
        if method == "POST":
            return self.handle(read()), [("Cache-Control", "no-store")], b""
        return 405, [("Allow", "GET, HEAD, POST")], b""


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


def _asgi(frontend: Frontend) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            from tocsin.sdk._asgi import serve_lifespan

            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        size = 0
        more = scope["method"] == "POST"
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_BODY + 1:
                chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        status, headers, payload = frontend._answer(scope["method"], lambda: body)
        raw = [(k.lower().encode(), v.encode()) for k, v in headers]
        raw.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload if scope["method"] != "HEAD" else b""})

    return app


def _wsgi(frontend: Frontend) -> WSGIApp:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def read() -> bytes:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            stream = environ["wsgi.input"]
            return bytes(stream.read(min(max(length, 0), MAX_BODY + 1)))

        method = environ.get("REQUEST_METHOD", "GET")
        status, headers, payload = frontend._answer(method, read)
        reason = {200: "OK", 204: "No Content", 400: "Bad Request", 405: "Method Not Allowed"}
        start_response(
            f"{status} {reason.get(status, 'Payload Too Large')}",
            [*headers, ("Content-Length", str(len(payload)))],
        )
        return [payload if method != "HEAD" else b""]

    return app
