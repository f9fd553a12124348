"""The WSGI application gunicorn serves; ``/metrics`` is on a port of its own (``COACHING_METRICS_PORT``),
so a saturated worker (every thread waiting on a locked table) still answers Prometheus."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.coaching_ai.django_api.settings")

from django.core.wsgi import get_wsgi_application

from . import views

application = get_wsgi_application()
views.start_metrics(int(os.environ.get("COACHING_METRICS_PORT", "8003")))
