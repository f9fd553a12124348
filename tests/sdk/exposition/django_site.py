"""A minimal Django site serving tocsin's metrics view, run in its own process by the tests.

Own process because ``settings.configure()`` can happen once per interpreter
and other suites configure Django too. Usage: ``python django_site.py AUTH``
with AUTH one of ``none``, ``basic-env``, ``bearer-file:<path>``; prints the
port it listens on, then serves until killed.
"""

from __future__ import annotations

import sys

from tests._django_site import configure

configure(__name__)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from prometheus_client import Counter  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tocsin.sdk.exposition import Auth  # noqa: E402
from tocsin.sdk.exposition.django import make_metrics_view, metrics_view  # noqa: E402


def _auth(spec: str) -> Auth | None:
    if spec == "none":
        return None
    if spec == "basic-env":
        return Auth.basic(username="prometheus", password_env="METRICS_PASSWORD")
    if spec.startswith("bearer-file:"):
        return Auth.bearer(token_file=spec.split(":", 1)[1])
    raise SystemExit(f"unknown auth {spec!r}")


Counter("exposition_test", "Requests seen by the test site").inc(3)
auth = _auth(sys.argv[1])
urlpatterns = [path("metrics", metrics_view if auth is None else make_metrics_view(auth=auth))]

if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, get_wsgi_application(), threaded=True)
    print(server.port, flush=True)
    server.serve_forever()
