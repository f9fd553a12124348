"""``tocsin console``: the stack's web UI, a Starlette app on uvicorn bound to 127.0.0.1.

Dashboards from the spec (uPlot, shipped in the package), alerts with their notification history,
silences (Alertmanager's v2 API), targets, rules, services' health, logs and a PromQL explorer. ``tocsin
up`` runs it as a supervised component (``python -m tocsin.views.console --model ...``) on the port of
``stack.console``; it reads the view model of the bundle (``console/model.json``) and re-reads it when
``tocsin reload`` swaps the bundle::

    from tocsin.views.console import ConsoleConfig, create_app
    app = create_app(ConsoleConfig(model_path=Path(".tocsin/config/current/console/model.json")))
"""

from __future__ import annotations

from tocsin.views.console._app import VENDOR_FILES, create_app, missing_vendor_files
from tocsin.views.console._state import ConsoleConfig

__all__ = ["VENDOR_FILES", "ConsoleConfig", "create_app", "missing_vendor_files"]
