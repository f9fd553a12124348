"""gunicorn's configuration for the ebook app: ``gunicorn -c examples/ebook_flask/gunicorn_conf.py
'examples.ebook_flask.app:create_app()'`` (what ``python -m examples.ebook_flask serve`` runs).

Two workers of eight threads each (a slow database must not take every worker), metrics in
multiprocess mode (each worker writes its files, ``/metrics`` merges them, a dead worker's files are
folded into archives), and tocsin's logging configuration for gunicorn's own lines (JSON, the access
log included) until the app's ``configure()`` takes over in each worker.
"""

from __future__ import annotations

import os

from tocsin.sdk import multiprocess

multiprocess.use_directory(os.environ.get("EBOOK_METRICS_DIR", "state/metrics"))  # before prometheus_client

from tocsin.sdk.logging.servers import gunicorn_logconfig_dict  # noqa: E402  (imports prometheus_client)

on_starting = multiprocess.on_starting
child_exit = multiprocess.child_exit

bind = f"127.0.0.1:{os.environ.get('EBOOK_PORT', '5000')}"
workers = int(os.environ.get("EBOOK_WORKERS", "2"))
worker_class = "gthread"
threads = 8
timeout = 30
graceful_timeout = 5
pidfile = os.environ.get("EBOOK_PIDFILE") or None
# gunicorn 24+ opens a control socket at ~/.gunicorn/gunicorn.ctl by default: one path for every
# instance of the user, so two apps (two demo runs, a test next to a demo) would fight over it
control_socket_disable = True
logconfig_dict = gunicorn_logconfig_dict()
