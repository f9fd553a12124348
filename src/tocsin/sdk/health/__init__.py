"""Health checks: concurrent, time-bounded, cached, redacted, exported as metrics.

::

    from tocsin.sdk.health import Health, checks

    health = Health(
        ready=[
            checks.sql("database", "postgresql://app@127.0.0.1/app"),
            checks.redis("cache", "redis://127.0.0.1:6379/0", critical=False),
            checks.disk(path="/", min_free_percent=20),
            checks.memory(max_used_percent=90),
        ],
    )

    # Starlette / FastAPI / any ASGI app
    from tocsin.sdk.health.asgi import HealthMiddleware
    app.add_middleware(HealthMiddleware, health=health)      # /health, /health/live, /health/ready

    # Flask:  tocsin.sdk.health.flask.init_app(app, health)
    # Django: urlpatterns += tocsin.sdk.health.django.urls(health)

Importing this package imports no framework and no driver; each check
imports its driver when it first runs, each adapter lives in its own module.
"""

from __future__ import annotations

from . import checks
from ._check import DEFAULT_TIMEOUT, BaseCheck, Check, CheckFailed, CheckResult, CheckStatus, Observation
from ._endpoint import DEFAULT_STATUS_CODES, HEALTH_JSON, Details, EndpointConfig, Format, Response
from ._redact import MASK, dsn_secrets, redact
from ._runner import Health, HealthStatus, Probe, Report

__all__ = [
    "DEFAULT_STATUS_CODES",
    "DEFAULT_TIMEOUT",
    "HEALTH_JSON",
    "MASK",
    "BaseCheck",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckStatus",
    "Details",
    "EndpointConfig",
    "Format",
    "Health",
    "HealthStatus",
    "Observation",
    "Probe",
    "Report",
    "Response",
    "checks",
    "dsn_secrets",
    "redact",
]
