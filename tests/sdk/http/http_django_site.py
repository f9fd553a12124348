"""A Django site with tocsin's HTTP middleware, run in its own process by the tests.

Own process because ``settings.configure()`` happens once per interpreter and
other suites configure Django too. ``python http_django_site.py wsgi|asgi GATE``
serves the site with werkzeug (WSGI) or uvicorn (ASGI), prints the port, and
serves until killed; ``/slow/`` holds until the file GATE exists. ``/metrics``
exposes the process's registry (and is excluded from measurement by default).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from django.conf import settings

MODE, GATE = sys.argv[1], Path(sys.argv[2])
STREAM_CHUNK_PAUSE = 0.06

settings.configure(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1"],
    SECRET_KEY="django-test-site-key-not-used-for-anything",
    MIDDLEWARE=["tocsin.sdk.http.django.PrometheusMiddleware"],
    INSTALLED_APPS=[],
    TOCSIN_HTTP={"excluded_paths": ["/metrics", "/skipped/"]},
    LOGGING_CONFIG=None,
)

import django  # noqa: E402

django.setup()

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse  # noqa: E402
from django.urls import include, path, re_path  # noqa: E402
from prometheus_client import REGISTRY, generate_latest  # noqa: E402


def ok(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("ok")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def _sync_chunks() -> Iterator[bytes]:
    for i in range(4):
        time.sleep(STREAM_CHUNK_PAUSE)
        yield f"chunk {i}\n".encode()


async def _async_chunks() -> AsyncIterator[bytes]:
    for i in range(4):
        await asyncio.sleep(STREAM_CHUNK_PAUSE)
        yield f"chunk {i}\n".encode()


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(_async_chunks() if MODE == "asgi" else _sync_chunks())


def slow(request: HttpRequest) -> HttpResponse:
    deadline = time.monotonic() + 10
    while not GATE.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return HttpResponse("slow")


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(REGISTRY), content_type="text/plain; version=0.0.4")


api = [
    path("items/<slug:slug>/", ok),
    re_path(r"^legacy/(?P<n>[0-9]+)/$", ok),
]
urlpatterns = [
    path("", ok),
    path("articles/<int:year>/", ok),
    path("api/v1/", include(api)),
    re_path(r"^codes/(?P<code>[a-z]{3})$", ok),
    path("boom/", boom),
    path("stream/", stream),
    path("slow/", slow),
    path("skipped/", ok),
    path("metrics", metrics),
]


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if MODE == "wsgi":
        from django.core.wsgi import get_wsgi_application
        from werkzeug.serving import make_server

        sock.close()
        server = make_server("127.0.0.1", port, get_wsgi_application(), threaded=True)
        print(port, flush=True)
        server.serve_forever()
    else:
        import uvicorn
        from django.core.asgi import get_asgi_application

        config = uvicorn.Config(get_asgi_application(), log_level="error", lifespan="off")
        print(port, flush=True)
        uvicorn.Server(config).run(sockets=[sock])


main()
