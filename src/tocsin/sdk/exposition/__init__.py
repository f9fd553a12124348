"""``/metrics`` four ways: ASGI app, WSGI app, Django view, or a server on its own port.

::

    from tocsin.sdk.exposition import Auth, start_metrics_server

    server = start_metrics_server(9464)                       # http://127.0.0.1:9464/metrics
    app.mount("/metrics", make_asgi_app(auth=Auth.bearer(token_file="/run/secrets/metrics")))

All four share :class:`Exposition`: OpenMetrics or text format from
``Accept``, gzip from ``Accept-Encoding``, optional Basic/Bearer auth with
secrets from env or file, and the merged worker files when
``PROMETHEUS_MULTIPROC_DIR`` is set. The Django view lives in
:mod:`tocsin.sdk.exposition.django`, so importing this package never imports
Django (nor Starlette: the ASGI app is framework-free).
"""

from __future__ import annotations

from ._apps import make_asgi_app, make_wsgi_app
from ._auth import Auth
from ._core import Exposition, MetricsResponse, gzip_allowed
from ._server import MetricsServer, Route, ServerLimits, start_metrics_server

__all__ = [
    "Auth",
    "Exposition",
    "MetricsResponse",
    "MetricsServer",
    "Route",
    "ServerLimits",
    "gzip_allowed",
    "make_asgi_app",
    "make_wsgi_app",
    "start_metrics_server",
]
