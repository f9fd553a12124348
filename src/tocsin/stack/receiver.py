"""tocsin's own alert receiver: an Alertmanager webhook, a Slack-compatible webhook and an SMTP sink.

Run by the supervisor as its own process (``python -m tocsin.stack.receiver``) so that every kind of
notification a spec can route to is delivered and stored locally, without the internet:

- ``POST /webhook``            Alertmanager webhook (v4 payload) → ``notifications`` + ``deliveries``
- ``POST /slack/<anything>``   Slack incoming-webhook payload → ``slack_messages`` (answers ``ok`` like Slack)
- SMTP on ``--smtp-port``       mails (no TLS, no auth: loopback only) → ``mails``
- ``GET /api/v1/notifications?status=&alertname=&limit=``, ``/api/v1/deliveries``, ``/api/v1/mails``,
  ``/api/v1/slack``: the stored history as JSON; ``/-/ready``; ``/metrics``.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import sys
from collections.abc import Sequence
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tocsin.stack.history import AlertHistory

__all__ = ["MailSink", "Received", "create_app", "main", "serve"]


class Received:
    """Notifications received per sink, exposed as one Prometheus counter family.

    Three numbers do not justify prometheus_client in a process that runs all day (~2 MB of RSS with
    its imports); the text below is the standard exposition format, nothing new.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {"webhook": 0, "slack": 0, "smtp": 0}

    def inc(self, sink: str) -> None:
        self.counts[sink] += 1

    def exposition(self) -> str:
        lines = [
            "# HELP tocsin_receiver_notifications_total Notifications received, by sink",
            "# TYPE tocsin_receiver_notifications_total counter",
        ]
        lines += [f'tocsin_receiver_notifications_total{{sink="{k}"}} {v}' for k, v in self.counts.items()]
        return "\n".join(lines) + "\n"


class MailSink:
    """aiosmtpd handler: every mail accepted and stored (subject and plain-text body)."""

    def __init__(self, history: AlertHistory, received: Received) -> None:
        self._history = history
        self._received = received

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        self._history.record_mail(
            str(envelope.mail_from or ""),
            [str(r) for r in envelope.rcpt_tos],
            str(message["subject"] or ""),
            body,
        )
        self._received.inc("smtp")
        return "250 Message accepted for delivery"


def create_app(history: AlertHistory, received: Received | None = None) -> Starlette:
    """The receiver's HTTP side; ``received`` counts notifications for ``/metrics``."""
    received = received or Received()

    async def webhook(request: Request) -> Response:
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
            return JSONResponse(
                {"error": "not an Alertmanager webhook payload (no alerts list)"}, status_code=400
            )
        new = history.record_webhook(payload)
        received.inc("webhook")
        return JSONResponse({"stored": new})

    async def slack(request: Request) -> Response:
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("attachments")):
            return PlainTextResponse("no_text", status_code=400)  # what Slack itself answers
        history.record_slack(request.path_params["path"], payload)
        received.inc("slack")
        return PlainTextResponse("ok")

    async def notifications(request: Request) -> Response:
        q = request.query_params
        rows = history.notifications(
            status=q.get("status"), alertname=q.get("alertname"), limit=int(q.get("limit", "100"))
        )
        return JSONResponse(rows)

    def table(name: str) -> Any:
        async def endpoint(request: Request) -> Response:
            return JSONResponse(history.table(name, int(request.query_params.get("limit", "100"))))

        return endpoint

    async def ready(request: Request) -> Response:
        return PlainTextResponse("tocsin receiver is ready.\n")

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(received.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app = Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/slack/{path:path}", slack, methods=["POST"]),
            Route("/api/v1/notifications", notifications),
            Route("/api/v1/deliveries", table("deliveries")),
            Route("/api/v1/mails", table("mails")),
            Route("/api/v1/slack", table("slack_messages")),
            Route("/-/ready", ready),
            Route("/-/healthy", ready),
            Route("/metrics", metrics),
        ]
    )
    app.state.received = received
    return app


async def serve(host: str, port: int, smtp_port: int | None, db: str) -> None:
    """HTTP and SMTP in one event loop; returns when uvicorn gets SIGTERM/SIGINT."""
    import uvicorn

    history = AlertHistory(db)
    app = create_app(history)
    smtp_server = None
    if smtp_port:
        loop = asyncio.get_running_loop()
        handler = MailSink(history, app.state.received)
        smtp_server = await loop.create_server(
            lambda: SMTP(handler, hostname="tocsin-receiver"), host, smtp_port
        )
    # plain asyncio + h11: uvloop and httptools buy nothing for a few notifications and cost RSS
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="asyncio",
        http="h11",
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        if smtp_server is not None:
            smtp_server.close()
        history.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tocsin.stack.receiver", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9095)
    parser.add_argument("--smtp-port", type=int, default=2525, help="0 disables the SMTP sink")
    parser.add_argument("--db", default=".tocsin/alerts.sqlite")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.smtp_port or None, args.db))
    except OSError as exc:  # port taken between the check and the bind
        print(f"tocsin receiver: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
