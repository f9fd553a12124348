"""The framework-neutral half of the health endpoints: routing, authorisation, status codes, bodies.

The ASGI, Flask and Django adapters only translate requests and responses;
everything a reviewer should check once (who sees details, which HTTP status
a state gets, what the JSON looks like) lives here.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import orjson

from tocsin.errors import ConfigurationError

from ._check import CheckResult
from ._runner import Health, HealthStatus, Probe, Report

__all__ = [
    "DEFAULT_STATUS_CODES",
    "HEALTH_JSON",
    "Details",
    "EndpointConfig",
    "EndpointOptions",
    "Format",
    "Response",
]

#: healthy → 200, degraded (a non-critical check down, or a warning) → 200, unhealthy → 503.
#: Seed 002 answered 503 for its "degraded", which it set when the database or the cache
#: failed: in tocsin terms a *critical* failure, i.e. ``unhealthy``. A failing non-critical
#: check keeps 200, as the seed's disk and memory warnings did, as the IETF draft wants for
#: ``warn`` and so that a readiness probe does not pull every instance out of the load
#: balancer when an optional cache is down. ``status_codes={"degraded": 503}`` gives the
#: strict behaviour.
DEFAULT_STATUS_CODES: Mapping[HealthStatus, int] = {"healthy": 200, "degraded": 200, "unhealthy": 503}
HEALTH_JSON = "application/health+json"
TOKEN_ENV = "TOCSIN_HEALTH_TOKEN"

#: Who sees details (observed values, durations, redacted error text): nobody, callers
#: with the token, or everybody. Check names and their up/down status are always listed.
Details = Literal["never", "authorized", "always"]
#: ``json``: tocsin's own shape; ``health+json``: the IETF draft (also chosen by an
#: ``Accept: application/health+json`` header).
Format = Literal["json", "health+json"]

_IETF_STATUS = {
    **{"healthy": "pass", "degraded": "warn", "unhealthy": "fail"},
    **{"up": "pass", "warn": "warn", "down": "fail"},
}


@dataclass(frozen=True)
class Response:
    """What an adapter sends back."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("cache-control", "no-store"),)


class EndpointOptions(TypedDict, total=False):
    """:class:`EndpointConfig`'s keyword arguments, spelled out for the adapters' ``**options``.

    ``**config: Any`` after a keyword-only ``health`` makes mypy reject
    ``app.add_middleware(HealthMiddleware, health=health)`` (Starlette's ParamSpec-typed factory);
    the named keys type-check, and a typo in a key is an error at the call.
    """

    path: str
    details: Details
    token: str | None
    token_file: str | os.PathLike[str] | None
    token_env: str
    status_codes: Mapping[HealthStatus, int] | None
    format: Format
    service: str | None
    version: str | None


class EndpointConfig:
    """Paths, authorisation, status mapping and output format shared by every adapter.

    The token comes from ``token``, else the file ``token_file``, else the
    environment variable ``token_env``; callers send it as
    ``Authorization: Bearer <token>`` or ``X-Health-Token: <token>``.
    """

    def __init__(
        self,
        health: Health,
        *,
        path: str = "/health",
        details: Details = "authorized",
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        token_env: str = TOKEN_ENV,
        status_codes: Mapping[HealthStatus, int] | None = None,
        format: Format = "json",
        service: str | None = None,
        version: str | None = None,
    ) -> None:
        if details not in ("never", "authorized", "always"):
            raise ConfigurationError(f"details must be 'never', 'authorized' or 'always', not {details!r}")
        if format not in ("json", "health+json"):
            raise ConfigurationError(f"format must be 'json' or 'health+json', not {format!r}")
        self.health = health
        self.path = "/" + path.strip("/")
        self.routes: dict[str, Probe] = {
            self.path: "all",
            f"{self.path}/live": "live",
            f"{self.path}/ready": "ready",
        }
        self.details = details
        self.format = format
        self.service = service
        self.version = version
        self.status_codes = _status_codes(status_codes)
        self._token = _load_token(token, token_file, token_env)
        if details == "authorized" and self._token is None:
            self.details = "never"  # nobody can be authorised: say so in the docs, not in the body

    def probe_for(self, path: str) -> Probe | None:
        """The probe a request path asks for, or ``None`` when the path is not a health path."""
        return self.routes.get(path.rstrip("/") or "/")

    def authorised(self, authorization: str | None, token_header: str | None) -> bool:
        """Constant-time comparison of the presented token with the configured one."""
        if self.details == "always":
            return True
        if self.details == "never" or self._token is None:
            return False
        presented = token_header
        if presented is None and authorization and authorization[:7].lower() == "bearer ":
            presented = authorization[7:].strip()
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self._token.encode())

    def answer(self, report: Report, header: Callable[[str], str | None]) -> Response:
        """:meth:`respond` for a request whose headers ``header(name)`` reads (case-insensitive)."""
        authorised = self.authorised(header("authorization"), header("x-health-token"))
        return self.respond(report, accept=header("accept"), authorised=authorised)

    def respond(self, report: Report, *, accept: str | None, authorised: bool) -> Response:
        """The HTTP answer for ``report``."""
        code = self.status_codes[report.status]
        if self.format == "health+json" or (accept is not None and HEALTH_JSON in accept):
            return Response(code, HEALTH_JSON, orjson.dumps(self._ietf(report, authorised)))
        return Response(code, "application/json", orjson.dumps(self._plain(report, authorised)))

    def _plain(self, report: Report, details: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"status": report.status, "probe": report.probe, "time": report.time}
        if self.service:
            body["service"] = self.service
        if self.version:
            body["version"] = self.version
        body["checks"] = {r.name: _plain_check(r, details) for r in report.results}
        if details:
            body["duration_ms"] = round(report.duration_seconds * 1000, 2)
        return body

    def _ietf(self, report: Report, details: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"status": _IETF_STATUS[report.status]}
        if self.version:
            body["version"] = self.version
        if self.service:
            body["serviceId"] = self.service
        checks: dict[str, list[dict[str, Any]]] = {}
        for result in report.results:
            entry: dict[str, Any] = {
                "componentId": result.name,
                "componentType": result.component_type,
                "status": _IETF_STATUS[result.status],
                "time": result.time,
            }
            if details:
                if result.value is not None:
                    entry["observedValue"] = result.value
                    entry["observedUnit"] = result.unit
                if result.output:
                    entry["output"] = result.output
            checks.setdefault(f"{result.name}:{result.measurement}", []).append(entry)
        body["checks"] = checks
        return body


def _plain_check(result: CheckResult, details: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": result.status, "critical": result.critical}
    if details:
        entry["duration_ms"] = round(result.duration_seconds * 1000, 2)
        if result.value is not None:
            entry["observed_value"] = result.value
            entry["observed_unit"] = result.unit
        if result.output:
            entry["output"] = result.output
        entry["cached"] = result.cached
    return entry


def _status_codes(custom: Mapping[HealthStatus, int] | None) -> dict[HealthStatus, int]:
    """Merge a custom mapping over the default; refuse one that hides a failure (the Spring Boot trap)."""
    codes: dict[HealthStatus, int] = dict(DEFAULT_STATUS_CODES)
    for status, code in (custom or {}).items():
        if status not in codes:
            raise ConfigurationError(
                f"status_codes: unknown status {status!r} (use healthy, degraded or unhealthy)"
            )
        if not 100 <= int(code) <= 599:
            raise ConfigurationError(f"status_codes[{status!r}] = {code} is not an HTTP status")
        codes[status] = int(code)
    if codes["unhealthy"] < 400:
        raise ConfigurationError(
            f"status_codes['unhealthy'] = {codes['unhealthy']} would report a failure as success "
            "(keep a 4xx/5xx, 503 by default, so probes and load balancers see it)"
        )
    if not 200 <= codes["healthy"] < 300:
        raise ConfigurationError(f"status_codes['healthy'] = {codes['healthy']} must be a 2xx status")
    return codes


def _load_token(token: str | None, token_file: str | os.PathLike[str] | None, token_env: str) -> str | None:
    if token is None and token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigurationError(f"health token file {os.fspath(token_file)!r}: {err.strerror}") from None
    if token is None:
        token = os.environ.get(token_env)
    token = token.strip() if token else None
    if token is not None and len(token) < 16:
        raise ConfigurationError(
            "the health token is shorter than 16 characters (use e.g. `python -c 'import secrets;"
            " print(secrets.token_urlsafe(32))'`)"
        )
    return token
