"""Apps the server logging tests run under real uvicorn and gunicorn processes.

Each calls ``tocsin.sdk.logging.configure("production")`` at import, as an app does, after
the server configured its own logging. ``flask_app`` uses its logger before that, so Flask
installs its default handler (the "printed twice" case).
"""

from __future__ import annotations

import flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tocsin.sdk import logging as tlog

flask_app = flask.Flask("servers-flask")
flask_app.logger.debug("used before configure()")  # Flask adds its StreamHandler unless root has one

tlog.configure("production", "INFO", service="servers-test")
log = tlog.get_logger("servers.views")


@flask_app.get("/hello/<name>")
def hello(name: str) -> str:
    flask_app.logger.warning("flask says hello %s", name)
    return "hello"


async def asgi_hello(request: Request) -> PlainTextResponse:
    log.info("asgi says hello", name=request.path_params["name"])
    return PlainTextResponse("hello")


asgi_app = Starlette(routes=[Route("/hello/{name}", asgi_hello)])
