"""A Django site serving tocsin's health endpoints, in its own process (``settings.configure`` is once per
interpreter). Usage: ``python health_django_site.py CASE PORTS_JSON``; prints its port, then serves."""

from __future__ import annotations

import json
import sys

from tests._django_site import configure

configure(
    __name__,
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "test",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "OPTIONS": {"connect_timeout": 2, "application_name": "tocsin-health-django-site"},
        }
    },
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from tests.sdk.health.health_sites import build  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tocsin.sdk.health.django import database, urls  # noqa: E402

health, options = build(sys.argv[1], json.loads(sys.argv[2]), extra=[database(name="django-db")])
urlpatterns = urls(health, **options)

if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, get_wsgi_application(), threaded=True)
    print(server.port, flush=True)
    server.serve_forever()
