"""``/metrics`` as a Django view::

    # urls.py
    from django.urls import path
    from tocsin.sdk.exposition.django import metrics_view

    urlpatterns = [path("metrics", metrics_view)]

With auth or another registry, build one: ``make_metrics_view(auth=Auth.basic(...))``.
The view is sync (Django runs it in a thread under ASGI), and exempt from CSRF
since a scrape is a plain GET with no session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CollectorRegistry

from ._auth import Auth
from ._core import Exposition

__all__ = ["make_metrics_view", "metrics_view"]


def make_metrics_view(
    registry: CollectorRegistry | None = None,
    *,
    auth: Auth | None = None,
    gzip: bool = True,
    multiprocess: bool | None = None,
) -> Callable[[HttpRequest], HttpResponse]:
    """A Django view serving the metrics page (see :class:`~tocsin.sdk.exposition.Exposition`)."""
    exposition = Exposition(registry, auth=auth, gzip=gzip, multiprocess=multiprocess)

    def view(request: HttpRequest) -> HttpResponse:
        meta = request.META
        answer = exposition.respond(
            request.method or "GET",
            authorization=meta.get("HTTP_AUTHORIZATION"),
            accept=meta.get("HTTP_ACCEPT"),
            accept_encoding=meta.get("HTTP_ACCEPT_ENCODING"),
            query_string=meta.get("QUERY_STRING", ""),
            scrape_timeout=meta.get("HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"),
        )
        response = HttpResponse(answer.body, status=answer.status)
        for name, value in answer.headers:
            response[name] = value
        return response

    return cast(Callable[[HttpRequest], HttpResponse], csrf_exempt(view))


#: The default view: the global registry (or the worker files), no auth.
metrics_view = make_metrics_view()
