"""Push a registry to a Prometheus Pushgateway: grouping key, replace or add, delete, retry with backoff.

Why not just ``prometheus_client.push_to_gateway``: a cron job's last act is
the push, so a Pushgateway restarting at that moment loses the run. Here
connection errors and 5xx answers are retried with exponential backoff; a 4xx
(a metric inconsistent with what is already pushed, a bad grouping key) is not
worth retrying and raises :class:`PushError` with the gateway's own text.
The wire format and URL layout stay prometheus_client's.
"""

from __future__ import annotations

import base64
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import delete_from_gateway, push_to_gateway, pushadd_to_gateway

from tocsin.errors import ConfigurationError, TocsinError

__all__ = ["PushError", "Pushgateway"]

_log = logging.getLogger("tocsin.packs.push")


class PushError(TocsinError):
    """The Pushgateway refused the push, or could not be reached after every retry."""


class _Retryable(Exception):
    pass


class Pushgateway:
    """Where and how a job pushes its metrics.

    ::

        gateway = Pushgateway("127.0.0.1:9091", job="archiver")
        gateway.push(registry)        # PUT: replaces the group {job="archiver"}
        gateway.delete()              # the group is gone (a retired job)

    ``grouping_key`` adds labels to the group (``{"shard": "eu"}``); leave out
    ``instance`` for batch jobs, so that a run on another host replaces the
    last one. ``username`` with ``password_file`` (or the environment variable
    ``TOCSIN_PUSHGATEWAY_PASSWORD``) sends basic auth.
    """

    def __init__(
        self,
        url: str,
        *,
        job: str,
        grouping_key: Mapping[str, str] | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        username: str | None = None,
        password_file: str | os.PathLike[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not job:
            raise ConfigurationError("Pushgateway: job must be a non-empty name")
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ConfigurationError("Pushgateway: retries and backoff must be >= 0, timeout > 0")
        if "job" in (grouping_key or {}):
            raise ConfigurationError("Pushgateway: give the job as job=, not in grouping_key")
        self.url = url if "://" in url else f"http://{url}"
        self.job = job
        self.grouping_key = dict(grouping_key or {})
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._sleep = sleep
        self._authorization: str | None = None
        if username is not None:
            password = _password(password_file)
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            self._authorization = f"Basic {token}"

    def push(self, registry: CollectorRegistry | None = None) -> None:
        """Replace the group's metrics with ``registry``'s (HTTP PUT)."""
        self._send("push", push_to_gateway, registry)

    def pushadd(self, registry: CollectorRegistry | None = None) -> None:
        """Replace only the metrics of the same names in the group (HTTP POST)."""
        self._send("pushadd", pushadd_to_gateway, registry)

    def delete(self) -> None:
        """Delete the whole group from the Pushgateway (HTTP DELETE)."""
        self._send("delete", delete_from_gateway, None)

    def _send(self, what: str, function: Callable[..., None], registry: CollectorRegistry | None) -> None:
        kwargs: dict[str, Any] = {"grouping_key": self.grouping_key, "timeout": self.timeout}
        kwargs["handler"] = self._handler
        if function is not delete_from_gateway:
            kwargs["registry"] = registry if registry is not None else REGISTRY
        attempt = 0
        while True:
            try:
                function(self.url, self.job, **kwargs)
                return
            except _Retryable as err:
                if attempt >= self.retries:
                    raise PushError(
                        f"Pushgateway {self.url}: {what} of job {self.job!r} failed after "
                        f"{attempt + 1} attempts: {err} (is it running?)"
                    ) from None
                delay = self.backoff * 2**attempt
                _log.warning("pushgateway %s failed (%s); retrying in %.1f s", what, err, delay)
                self._sleep(delay)
                attempt += 1

    def _handler(
        self, url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        def send() -> None:
            request = urllib.request.Request(url, data=data or None, method=method)
            for name, value in headers:
                request.add_header(name, value)
            if self._authorization:
                request.add_header("Authorization", self._authorization)
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    response.read()
            except urllib.error.HTTPError as err:
                body = err.read().decode("utf-8", "replace").strip()
                if err.code >= 500:
                    raise _Retryable(f"HTTP {err.code} {body}") from None
                raise PushError(
                    f"Pushgateway {self.url} refused the {method} of job {self.job!r}: "
                    f"HTTP {err.code}: {body}"
                ) from None
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", err)
                raise _Retryable(str(reason)) from None

        return send


def _password(password_file: str | os.PathLike[str] | None) -> str:
    if password_file is not None:
        try:
            return Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigurationError(
                f"Pushgateway password file {os.fspath(password_file)!r}: {err.strerror}"
            ) from None
    password = os.environ.get("TOCSIN_PUSHGATEWAY_PASSWORD")
    if password is None:
        raise ConfigurationError(
            "Pushgateway: username given without password_file or TOCSIN_PUSHGATEWAY_PASSWORD"
        )
    return password
