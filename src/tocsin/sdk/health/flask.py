"""Health endpoints for Flask (and any WSGI app through Flask's routing).

::

    from tocsin.sdk.health.flask import init_app
    init_app(app, health)          # GET /health, /health/live, /health/ready

The views run the checks on the runner's own event loop (:meth:`Health.check_sync`),
so caching and single-flight hold across Flask's worker threads.
"""

from __future__ import annotations

from typing import Any

from ._endpoint import EndpointConfig
from ._runner import Health

__all__ = ["init_app"]


def init_app(app: Any, health: Health, **config: Any) -> EndpointConfig:
    """Add the three health routes to the Flask ``app``; keyword arguments are :class:`EndpointConfig`'s."""
    import flask

    endpoint = EndpointConfig(health, **config)

    def view() -> flask.Response:
        request = flask.request
        probe = endpoint.probe_for(request.path)
        assert probe is not None  # only routed for the health paths
        answer = endpoint.answer(health.check_sync(probe), request.headers.get)
        return flask.Response(
            answer.body, status=answer.status, content_type=answer.content_type, headers=list(answer.headers)
        )

    for path, probe in endpoint.routes.items():
        app.add_url_rule(path, endpoint=f"tocsin_health_{probe}", view_func=view, methods=["GET"])
    return endpoint
