"""Where each receiver of an ``alertmanager.yml`` sends to, and whether a TCP connection opens there."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["endpoints", "reach"]


def reach(host: str, port: int, timeout: float) -> str:
    """'' when a TCP connection opens, else why not in words."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except ConnectionRefusedError:
        return "refuses connections (nothing listens there)"
    except socket.gaierror:
        return "host not found (DNS)"
    except TimeoutError:
        return f"no answer within {timeout:.0f}s (firewall, or a host that is down)"
    except OSError as exc:
        return exc.strerror or str(exc)


def endpoints(receiver: dict[str, Any]) -> Iterator[tuple[str, str, str, int, str]]:
    """(kind, shown address, host, port, config hint) for each integration of a receiver."""
    name = receiver["name"]
    for hook in receiver.get("webhook_configs") or []:
        url = urlsplit(str(hook.get("url", "")))
        port = url.port or (443 if url.scheme == "https" else 80)
        yield "webhook", hook.get("url", ""), url.hostname or "", port, f"receivers.{name}.webhook.url"
    for mail in receiver.get("email_configs") or []:
        host, _, smtp_port = str(mail.get("smarthost", "")).rpartition(":")
        yield (
            "email",
            mail.get("smarthost", ""),
            host,
            int(smtp_port or 25),
            f"receivers.{name}.email.smarthost",
        )
    for slack in receiver.get("slack_configs") or []:
        url_text = str(slack.get("api_url", ""))
        if slack.get("api_url_file"):
            try:
                url_text = Path(slack["api_url_file"]).read_text().strip()
            except OSError as exc:
                yield "slack", slack["api_url_file"], "", 0, f"unreadable: {exc.strerror}"
                continue
        url = urlsplit(url_text)
        port = url.port or (443 if url.scheme == "https" else 80)
        shown = f"{url.scheme}://{url.netloc}/…" if url.netloc else url_text
        yield "slack", shown, url.hostname or "", port, f"receivers.{name}.slack (its api_url file)"
