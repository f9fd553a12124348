"""tocsin's own alert receiver: an Alertmanager webhook, a Slack-compatible webhook and an SMTP sink.

Served by the console's process when the stack runs one (:func:`run`, in the console's event loop; see
``tocsin.views.console.__main__``), else by the supervisor as its own process (``python -m
tocsin.stack.receiver``), so that every kind of notification a spec can route to is delivered and
stored locally, without the internet:

- ``POST /webhook``            Alertmanager webhook (v4 payload) → ``notifications`` + ``deliveries``
- ``POST /slack/<anything>``   Slack incoming-webhook payload → ``slack_messages`` (answers ``ok`` like Slack)
- SMTP on ``--smtp-port``       mails (no TLS, no auth: loopback only) → ``mails``
- ``GET /api/v1/notifications?status=&alertname=&limit=``, ``/api/v1/deliveries``, ``/api/v1/mails``,
  ``/api/v1/slack``: the stored history as JSON; ``/-/ready``; ``/metrics``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import orjson
from aiosmtpd.smtp import SMTP, Envelope, Session

from tocsin import ports
from tocsin.stack._httpd import HTTPServer, Limits, Response
from tocsin.stack._payloads import PayloadError, load_json, parse_mail, parse_webhook, slack_text
from tocsin.stack._sinks import mail_summary, slack_summary, webhook_id
from tocsin.stack.history import SINKS, AlertHistory

__all__ = [
    "MailSink",
    "Received",
    "ReceiverApp",
    "ReceiverStopped",
    "Store",
    "create_app",
    "main",
    "run",
    "serve",
]

_TEXT = "text/plain; charset=utf-8"
_MAX_LIMIT = 10_000
T = TypeVar("T")


def _json(payload: Any, status: int = 200) -> Response:
    return status, "application/json", orjson.dumps(payload)  # never NaN: orjson writes null


def _text(text: str, status: int = 200, media_type: str = _TEXT) -> Response:
    return status, media_type, text.encode()


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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


class Store:
    """The history off the event loop: writes in order on one thread, reads on another.

    SQLite work blocks; on the event loop, one 40,000-alert webhook stalled every client for 14 s.
    Two connections in WAL mode: a read sees the last committed write and never waits for one.
    """

    def __init__(self, history: AlertHistory) -> None:
        self.writer = history
        self.reader = AlertHistory(history.path)
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="tocsin-db-write")
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="tocsin-db-read")

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writes, functools.partial(fn, self.writer, *args))

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, functools.partial(fn, self.reader, *args, **kwargs))

    def close(self) -> None:
        self._writes.shutdown()
        self._reads.shutdown()
        self.reader.close()


def _store_mail(history: AlertHistory, envelope: Envelope) -> None:
    content = envelope.original_content or envelope.content or b""
    raw = content if isinstance(content, bytes) else str(content).encode("utf-8", "replace")
    mail = parse_mail(raw)
    rcpt = [str(r) for r in envelope.rcpt_tos]
    history.record_mail(str(envelope.mail_from or ""), rcpt, mail.subject, mail.body, mail_summary(mail), raw)


class MailSink:
    """aiosmtpd handler: every mail accepted and stored, whatever its charset or shape."""

    def __init__(self, store: Store, received: Received, log: Callable[[str], None] = _log) -> None:
        self._store = store
        self._received = received
        self._log = log

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            await self._store.write(_store_mail, envelope)
        except Exception as exc:  # the disk, not the mail: say so, so the sender keeps it and retries
            self._log(f"tocsin receiver: could not store a mail: {type(exc).__name__}: {exc}")
            return "451 Requested action aborted: local error in processing"
        self._received.inc("smtp")
        return "250 Message accepted for delivery"


def _store_webhook(history: AlertHistory, body: bytes) -> int:
    return history.record_webhook(parse_webhook(body))


def _store_slack(history: AlertHistory, path: str, body: bytes) -> str | None:
    """None when stored, else what Slack itself would answer."""
    try:
        payload = load_json(body)
        text = slack_text(payload)
    except PayloadError:
        return "invalid_payload"
    if not text:
        return "no_text"
    history.record_slack(webhook_id(path), text, payload, slack_summary(payload))
    return None


class _BadQuery(ValueError):
    pass


def _limit(query: dict[str, str]) -> int:
    raw = query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_LIMIT:
        raise _BadQuery(f"limit must be a whole number from 1 to {_MAX_LIMIT}, not {raw[:40]!r}")
    return int(raw)


def _since(query: dict[str, str]) -> float | None:
    raw = query.get("since")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise _BadQuery(f"since must be Unix seconds, not {raw[:40]!r}")
    return value


class ReceiverApp:
    """The receiver's HTTP side: routes ``(method, target, body)`` to the history; also an ASGI app.

    A handful of fixed routes do not need a web framework, and the process runs all day (see _httpd).
    """

    def __init__(
        self, history: AlertHistory, received: Received | None = None, log: Callable[[str], None] = _log
    ) -> None:
        self.store = Store(history)
        self.received = received or Received()
        self.log = log
        metrics = "text/plain; version=0.0.4; charset=utf-8"
        self._get: dict[str, Callable[[dict[str, str]], Awaitable[Response]]] = {
            "/api/v1/notifications": self._notifications,
            "/api/v1/deliveries": lambda q: self._table("deliveries", q),
            "/api/v1/mails": lambda q: self._table("mails", q),
            "/api/v1/slack": lambda q: self._table("slack_messages", q),
            "/-/ready": lambda q: self._static(_text("tocsin receiver is ready.\n")),
            "/-/healthy": lambda q: self._static(_text("tocsin receiver is ready.\n")),
            "/metrics": lambda q: self._static(_text(self.received.exposition(), media_type=metrics)),
        }

    @staticmethod
    async def _static(response: Response) -> Response:
        return response

    async def handle(self, method: str, target: str, body: bytes) -> Response:
        """One request. Bad input is a 4xx that says what is wrong; a bug is a logged 500."""
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            if path == "/webhook" or path.startswith("/slack/"):
                if method != "POST":
                    return _text("Method Not Allowed", 405)
                return await (self._webhook(body) if path == "/webhook" else self._slack(path[7:], body))
            route = self._get.get(path)
            if route is None:
                return _text("Not Found", 404)
            if method not in ("GET", "HEAD"):
                return _text("Method Not Allowed", 405)
            return await route(query)
        except _BadQuery as exc:
            return _json({"error": str(exc)}, 400)
        except Exception as exc:
            self.log(f"tocsin receiver: internal error on {method} {path}: {type(exc).__name__}: {exc}")
            return _text("Internal Server Error", 500)

    async def _webhook(self, body: bytes) -> Response:
        try:
            new = await self.store.write(_store_webhook, body)
        except PayloadError as exc:
            return _json({"error": str(exc)}, 400)
        self.received.inc("webhook")
        return _json({"stored": new})

    async def _slack(self, path: str, body: bytes) -> Response:
        refused = await self.store.write(_store_slack, path, body)
        if refused is not None:
            return _text(refused, 400)  # what Slack itself answers
        self.received.inc("slack")
        return _text("ok")

    async def _notifications(self, q: dict[str, str]) -> Response:
        sink = q.get("sink") or None
        if sink is not None and sink not in SINKS:
            raise _BadQuery(f"sink must be one of {', '.join(SINKS)}, not {sink[:40]!r}")
        filters = {k: q.get(k) or None for k in ("status", "alertname", "severity", "priority", "receiver")}
        rows = await self.store.read(
            AlertHistory.notifications, sink=sink, since=_since(q), limit=_limit(q), **filters
        )
        return _json(rows)

    async def _table(self, name: str, q: dict[str, str]) -> Response:
        return _json(await self.store.read(AlertHistory.table, name, _limit(q)))

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

    def close(self) -> None:
        self.store.close()


def create_app(
    history: AlertHistory, received: Received | None = None, log: Callable[[str], None] = _log
) -> ReceiverApp:
    """The receiver's HTTP side; ``received`` counts for ``/metrics``; ``log`` takes its lines."""
    return ReceiverApp(history, received, log)


class ReceiverStopped(RuntimeError):
    """One of the receiver's servers stopped listening while the receiver should still serve."""


async def run(
    host: str,
    port: int,
    smtp_port: int | None,
    db: str,
    stop: asyncio.Event,
    *,
    limits: Limits | None = None,
    log: Callable[[str], None] = _log,
) -> None:
    """HTTP and SMTP on the running loop until ``stop`` is set.

    Raises :class:`ReceiverStopped` when a server stops listening first, so that whatever runs the
    receiver (its own process, or the console hosting it) exits non-zero and the supervisor restarts
    it: a receiver that no longer listens must not hide behind a live pid.
    """
    history = AlertHistory(db)
    app = create_app(history, log=log)
    loop = asyncio.get_running_loop()
    http = HTTPServer(app.handle, limits, log=log)
    smtp: asyncio.Server | None = None
    stopping = asyncio.ensure_future(stop.wait())
    watched: dict[asyncio.Future[Any], str] = {stopping: "stop"}
    try:
        if smtp_port:
            handler = MailSink(app.store, app.received, log)
            smtp = await loop.create_server(
                lambda: SMTP(handler, hostname="tocsin-receiver", decode_data=False, timeout=60),
                host,
                smtp_port,
            )
        server = await http.start(host, port)
        # serve_forever() ends (cancelled) when its server is closed: that is how a dead server shows
        watched[asyncio.ensure_future(server.serve_forever())] = f"its HTTP server on {host}:{port}"
        if smtp is not None:
            watched[asyncio.ensure_future(smtp.serve_forever())] = f"its SMTP server on {host}:{smtp_port}"
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        if stopping not in done:
            dead = next(iter(done))
            why = "" if dead.cancelled() or dead.exception() is None else f": {dead.exception()!r}"
            raise ReceiverStopped(f"{watched[dead]} stopped{why}")
    finally:
        for task in watched:
            task.cancel()
        await http.stop()
        if smtp is not None:
            smtp.close()
        app.close()
        history.close()


async def serve(host: str, port: int, smtp_port: int | None, db: str, limits: Limits | None = None) -> None:
    """HTTP and SMTP in one event loop; returns on SIGTERM/SIGINT (ReceiverStopped if a server dies)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(host, port, smtp_port, db, stop, limits=limits)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tocsin.stack.receiver", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=ports.RECEIVER)
    parser.add_argument("--smtp-port", type=int, default=ports.RECEIVER_SMTP, help="0 disables the SMTP sink")
    parser.add_argument("--db", default=".tocsin/alerts.sqlite")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.smtp_port or None, args.db))
    except OSError as exc:  # port taken between the check and the bind
        print(f"tocsin receiver: {exc}", file=sys.stderr)
        return 2
    except ReceiverStopped as exc:
        print(f"tocsin receiver: {exc}; exiting so that the supervisor restarts it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
