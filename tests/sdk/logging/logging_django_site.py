"""A Django site with the request-id middleware, logging JSON to a file, in its own process.

Usage: ``python logging_django_site.py LOG_FILE [wsgi|asgi]``; prints its port, then serves until killed.
Under ASGI (uvicorn) the middleware and the ``/awork`` view run as coroutines.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from django.conf import settings

settings.configure(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1"],
    SECRET_KEY="django-test-site-key-not-used-for-anything",
    MIDDLEWARE=["tocsin.sdk.logging.django.RequestIdMiddleware"],
    INSTALLED_APPS=[],
    LOGGING_CONFIG=None,  # tocsin configures logging
)

import django  # noqa: E402

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tocsin.sdk import logging as tlog  # noqa: E402

tlog.configure("production", "INFO", "django-site", console=False, file=sys.argv[1])
log = tlog.get_logger("site.views")


def work(request: HttpRequest) -> HttpResponse:
    expected = request.headers.get("X-Expected", "")
    log.info("handled", expected=expected)
    return HttpResponse(request.request_id)  # type: ignore[attr-defined]


async def awork(request: HttpRequest) -> HttpResponse:
    expected = request.headers.get("X-Expected", "")
    log.info("handled", expected=expected)
    await asyncio.sleep(0.001)  # let other requests interleave
    log.info("handled", expected=expected)
    return HttpResponse(request.request_id)  # type: ignore[attr-defined]


urlpatterns = [path("work", work), path("awork", awork)]

if __name__ == "__main__":
    if sys.argv[2:] == ["asgi"]:
        import uvicorn
        from django.core.asgi import get_asgi_application

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1], flush=True)
        config = uvicorn.Config(get_asgi_application(), log_config=None, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
    else:
        server = make_server("127.0.0.1", 0, get_wsgi_application(), threaded=True)
        print(server.port, flush=True)
        server.serve_forever()
