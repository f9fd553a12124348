"""HTTP request metrics for Starlette/FastAPI (ASGI), Flask (WSGI) and Django, on one core.

::

    from tocsin.sdk.http import PrometheusMiddleware       # Starlette / FastAPI
    app.add_middleware(PrometheusMiddleware)

    from tocsin.sdk.http import instrument_flask           # Flask
    instrument_flask(app)

    MIDDLEWARE = ["tocsin.sdk.http.django.PrometheusMiddleware", ...]   # Django settings

Importing this package imports no web framework: the Django middleware lives in
:mod:`tocsin.sdk.http.django`, imported only by the settings that name it.
"""

from __future__ import annotations

from ._core import (
    DEFAULT_BUCKETS,
    DEFAULT_EXCLUDED_PATHS,
    OTHER_METHOD,
    UNMATCHED,
    RequestMetrics,
    RequestMetricsOptions,
    RouteSeries,
)
from .asgi import PrometheusMiddleware
from .wsgi import ENVIRON_KEY, PrometheusWSGIMiddleware, instrument_flask, werkzeug_route

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_EXCLUDED_PATHS",
    "ENVIRON_KEY",
    "OTHER_METHOD",
    "UNMATCHED",
    "PrometheusMiddleware",
    "PrometheusWSGIMiddleware",
    "RequestMetrics",
    "RequestMetricsOptions",
    "RouteSeries",
    "instrument_flask",
    "werkzeug_route",
]
