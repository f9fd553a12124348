"""Who gets told: receivers (email, Slack, webhook) and the priority/severity route table.

Secrets never sit in the spec: a password or Slack URL is a ``*_file`` path
(Alertmanager reads it) or a ``*_env`` variable (``tocsin up`` writes its value
to a 0600 file in the state dir and Alertmanager reads that), and a webhook URL
may come from the environment at compile time (``url_env``), because
Alertmanager 0.25 has no ``url_file``.
Writing the secret inline is an error that names the field to use instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from tocsin.spec._types import Duration, FilePath, LabelName, Name, PositiveDuration, StrictModel

__all__ = [
    "DEFAULT_REPEAT",
    "EmailReceiver",
    "Receiver",
    "Route",
    "Routes",
    "SlackReceiver",
    "WebhookReceiver",
]

#: Repeat interval per priority when the route does not set one: P1 every 15 min, P2 every 2 h (seed 003).
DEFAULT_REPEAT: dict[str, str] = {"P1": "15m", "P2": "2h", "P3": "4h"}


def _not_inline(instead: str) -> Callable[[object], object]:
    """Validator for a field that exists only to say 'not inline': any value is an error pointing at it."""

    def check(value: object) -> object:
        env = _ENV_REFERENCE.fullmatch(value) if isinstance(value, str) else None
        field = instead.removesuffix("_file")
        hint = f"{field}_env: {env[1]}" if env else f"{instead} (or {field}_env)"
        raise ValueError(f"inline secret: use {hint} so the secret stays out of the spec")

    return check


_ENV_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits, _)")
    return value


#: A secret read from the environment by ``tocsin up``, which writes it to a 0600 file for Alertmanager.
EnvName = Annotated[str, AfterValidator(_env_name)]


def _one_of(model: Any, file_field: str, env_field: str, required: bool) -> None:
    given = [f for f in (file_field, env_field) if getattr(model, f) is not None]
    if len(given) > 1 or (required and not given):
        raise ValueError(f"one secret, one source: give exactly one of {file_field} or {env_field}")


def _no_url_file(value: object) -> object:
    raise ValueError(
        "Alertmanager 0.25 rejects url_file for webhooks: use url, or url_env to read it at compile time"
    )


class EmailReceiver(StrictModel):
    """Email through an SMTP smarthost (``host:port``); the password is read from a file."""

    to: str | list[str]
    from_: str = Field(alias="from")
    smarthost: str
    auth_username: str | None = None
    auth_password_file: FilePath | None = None
    auth_password_env: EnvName | None = None
    auth_password: Annotated[Any, AfterValidator(_not_inline("auth_password_file"))] = Field(
        None, exclude=True
    )
    require_tls: bool = True

    @model_validator(mode="after")
    def _one_password(self) -> EmailReceiver:
        _one_of(self, "auth_password_file", "auth_password_env", required=False)
        return self

    @field_validator("smarthost")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{value!r} is not host:port: write e.g. 127.0.0.1:2525")
        return value


class SlackReceiver(StrictModel):
    """A Slack incoming webhook; its URL is a secret: ``api_url_file`` or ``api_url_env``, never inline.
    ``username`` and ``icon_emoji`` (``:robot_face:``) or ``icon_url`` say who posts (seed 000's
    "OCR Monitor")."""

    api_url_file: FilePath | None = None
    api_url_env: EnvName | None = None
    channel: str | None = None
    username: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    icon_emoji: Annotated[str, Field(pattern=r"^:[a-z0-9_+'-]+:$")] | None = None
    icon_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    api_url: Annotated[Any, AfterValidator(_not_inline("api_url_file"))] = Field(None, exclude=True)

    @model_validator(mode="after")
    def _one_url(self) -> SlackReceiver:
        _one_of(self, "api_url_file", "api_url_env", required=True)
        if self.icon_emoji and self.icon_url:
            raise ValueError("one icon: icon_emoji or icon_url (Slack shows only one)")
        return self


class WebhookReceiver(StrictModel):
    """A generic webhook: ``url`` (not secret) or ``url_env`` (read at compile time)."""

    url: str | None = None
    url_env: EnvName | None = None
    max_alerts: int = Field(0, ge=0)
    url_file: Annotated[Any, AfterValidator(_no_url_file)] = Field(None, exclude=True)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookReceiver:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a webhook needs exactly one URL: give url or url_env")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} is not an HTTP URL: start it with http:// or https://")
        return self


class Receiver(StrictModel):
    """One named receiver: exactly one of ``email``, ``slack``, ``webhook``."""

    email: EmailReceiver | None = None
    slack: SlackReceiver | None = None
    webhook: WebhookReceiver | None = None
    send_resolved: bool = True

    @model_validator(mode="after")
    def _exactly_one(self) -> Receiver:
        given = [k for k in ("email", "slack", "webhook") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a receiver needs exactly one kind: keep one of email, slack or webhook")
        return self

    @property
    def kind(self) -> str:
        """``email``, ``slack`` or ``webhook``."""
        return next(k for k in ("email", "slack", "webhook") if getattr(self, k) is not None)


class Route(StrictModel):
    """Where alerts of one priority or severity go; a bare list of receivers is shorthand."""

    receivers: list[Name]
    group_by: list[LabelName] | None = None
    group_wait: Duration | None = None
    group_interval: PositiveDuration | None = None
    repeat_interval: PositiveDuration | None = None
    #: notify only during these ``time_intervals`` (e.g. P3 in business hours)...
    active_time_intervals: list[Name] = Field(default_factory=list)
    #: ... and never during these (mute wins when both match)
    mute_time_intervals: list[Name] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: object) -> object:
        return {"receivers": data} if isinstance(data, list) else data

    @field_validator("receivers")
    @classmethod
    def _some(cls, receivers: list[str]) -> list[str]:
        if not receivers:
            raise ValueError("a route without receivers: name one, e.g. [tocsin], or delete the route")
        return receivers


class Routes(StrictModel):
    """The route table. Priority routes (P1, P2, P3) are tried first, then severity routes
    (critical, warning), then ``default``. Timings here apply to every route unless overridden."""

    group_by: list[LabelName] = Field(default_factory=lambda: ["alertname", "service", "severity"])
    group_wait: Duration = "30s"
    group_interval: PositiveDuration = "5m"
    repeat_interval: PositiveDuration = "4h"
    P1: Route | None = None
    P2: Route | None = None
    P3: Route | None = None
    critical: Route | None = None
    warning: Route | None = None
    default: Route | None = None

    def selectors(self) -> list[tuple[str, str, Route]]:
        """``(label, value, route)`` in matching order; ``default`` comes last with label ``""``."""
        out: list[tuple[str, str, Route]] = []
        for label, keys in (("priority", ("P1", "P2", "P3")), ("severity", ("critical", "warning"))):
            for key in keys:
                route = getattr(self, key)
                if route is not None:
                    out.append((label, key, route))
        if self.default is not None:
            out.append(("", "default", self.default))
        return out
