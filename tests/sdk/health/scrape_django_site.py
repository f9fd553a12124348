"""A Django site serving ``/metrics`` (tocsin's view) with a Health on the default registry, in its own
process. Usage: ``python scrape_django_site.py PG_PORT``; prints its port, then serves."""

from __future__ import annotations

import sys

from tests._django_site import configure

configure(__name__)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from tests.sdk.health.scrape_sites import scrape_health  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tocsin.sdk.exposition.django import metrics_view  # noqa: E402

health = scrape_health(int(sys.argv[1]))
urlpatterns = [path("metrics", metrics_view)]

if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, get_wsgi_application(), threaded=True)
    print(server.port, flush=True)
    server.serve_forever()
