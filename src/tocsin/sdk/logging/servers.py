"""Logging configurations for the web servers, so their lines come out through tocsin (as JSON).

::

    # uvicorn, in code
    uvicorn.run(app, log_config=uvicorn_log_config())
    # uvicorn, on the command line
    python -m tocsin.sdk.logging.servers uvicorn > uvicorn-logging.json
    uvicorn app:app --log-config uvicorn-logging.json

    # gunicorn.conf.py
    from tocsin.sdk.logging.servers import gunicorn_logconfig_dict
    logconfig_dict = gunicorn_logconfig_dict()

The application still calls ``tocsin.sdk.logging.configure()`` (its outputs are the
ones the servers' lines go to); ``configure()`` also takes over the servers' handlers
when they were installed before it, so these matter for what the server logs
before the app is imported and after a reload (gunicorn's ``HUP``).
"""

from __future__ import annotations

import json
import sys

from ._servers import gunicorn_logconfig_dict, uvicorn_log_config

__all__ = ["gunicorn_logconfig_dict", "uvicorn_log_config"]


def _main(argv: list[str]) -> int:
    configs = {"uvicorn": uvicorn_log_config, "gunicorn": gunicorn_logconfig_dict}
    if len(argv) not in (1, 2) or argv[0] not in configs:
        print("usage: python -m tocsin.sdk.logging.servers uvicorn|gunicorn [LEVEL]", file=sys.stderr)
        return 2
    print(json.dumps(configs[argv[0]](*argv[1:2]), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
