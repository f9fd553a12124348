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
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiosmtpd.smtp import SMTP, Envelope, Session

from tocsin.stack._httpd import Response, serve_connection
from tocsin.stack.history import AlertHistory

__all__ = ["MailSink", "Received", "ReceiverApp", "create_app", "main", "serve"]

_TEXT = "text/plain; charset=utf-8"


def _json(payload: Any, status: int = 200) -> Response:
    # byte for byte what starlette's JSONResponse wrote before the receiver dropped it
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
    return status, "application/json", body.encode()


def _text(text: str, status: int = 200, media_type: str = _TEXT) -> Response:
    return status, media_type, text.encode()


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


class ReceiverApp:
    """The receiver's HTTP side: routes ``(method, target, body)`` to the history; also an ASGI app.

    A handful of fixed routes do not need a web framework, and the process runs all day (see _httpd).
    """

    def __init__(self, history: AlertHistory, received: Received | None = None) -> None:
        self.history = history
        self.received = received or Received()
        metrics = "text/plain; version=0.0.4; charset=utf-8"
        self._get: dict[str, Callable[[dict[str, str]], Response]] = {
            "/api/v1/notifications": self._notifications,
            "/api/v1/deliveries": lambda q: self._table("deliveries", q),
            "/api/v1/mails": lambda q: self._table("mails", q),
            "/api/v1/slack": lambda q: self._table("slack_messages", q),
            "/-/ready": lambda q: _text("tocsin receiver is ready.\n"),
            "/-/healthy": lambda q: _text("tocsin receiver is ready.\n"),
            "/metrics": lambda q: _text(self.received.exposition(), media_type=metrics),
        }

    async def handle(self, method: str, target: str, body: bytes) -> Response:
        """One request; any exception becomes a 500 with no detail, like the server it replaced."""
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            if path == "/webhook" or path.startswith("/slack/"):
                if method != "POST":
                    return _text("Method Not Allowed", 405)
                return self._webhook(body) if path == "/webhook" else self._slack(path[7:], body)
            route = self._get.get(path)
            if route is None:
                return _text("Not Found", 404)
            if method not in ("GET", "HEAD"):
                return _text("Method Not Allowed", 405)
            return route(query)
        except Exception:
            return _text("Internal Server Error", 500)

    def _webhook(self, body: bytes) -> Response:
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            return _json({"error": "body is not JSON"}, 400)
        if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
            return _json({"error": "not an Alertmanager webhook payload (no alerts list)"}, 400)
        new = self.history.record_webhook(payload)
        self.received.inc("webhook")
        return _json({"stored": new})

    def _slack(self, path: str, body: bytes) -> Response:
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            return _text("invalid_payload", 400)
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("attachments")):
            return _text("no_text", 400)  # what Slack itself answers
        self.history.record_slack(path, payload)
        self.received.inc("slack")
        return _text("ok")

    def _notifications(self, q: dict[str, str]) -> Response:
        rows = self.history.notifications(
            status=q.get("status"), alertname=q.get("alertname"), limit=int(q.get("limit", "100"))
        )
        return _json(rows)

    def _table(self, name: str, q: dict[str, str]) -> Response:
        return _json(self.history.table(name, int(q.get("limit", "100"))))

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        """ASGI, so the routes can be driven in-process (httpx.ASGITransport) or mounted elsewhere."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
        status, media_type, content = await self.handle(scope["method"], target, body)
        headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def create_app(history: AlertHistory, received: Received | None = None) -> ReceiverApp:
    """The receiver's HTTP side; ``received`` counts notifications for ``/metrics``."""
    return ReceiverApp(history, received)


async def serve(host: str, port: int, smtp_port: int | None, db: str) -> None:
    """HTTP and SMTP in one event loop; returns on SIGTERM/SIGINT."""
    history = AlertHistory(db)
    app = create_app(history)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    servers: list[asyncio.AbstractServer] = []
    try:
        if smtp_port:
            handler = MailSink(history, app.received)
            servers.append(
                await loop.create_server(lambda: SMTP(handler, hostname="tocsin-receiver"), host, smtp_port)
            )
        servers.append(
            await asyncio.start_server(lambda r, w: serve_connection(app.handle, r, w), host, port)
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        for server in servers:
            server.close()
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
