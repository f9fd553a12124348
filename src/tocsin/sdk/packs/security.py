"""Authentication and abuse (seeds 001, 004): attempts, failures by reason, rate limiting, intrusions.

::

    from tocsin.sdk.packs import Security

    security = Security(namespace="")          # seed 004: django_auth_failures_total under prefix django
    security.auth_failed("invalid_credentials", source=request.META["REMOTE_ADDR"])
    security.rate_limited("login")
    security.intrusion_attempt("sql_injection")

    try:
        claims = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.InvalidTokenError as err:
        security.jwt_failed(err, source=ip)            # reason "expired", "invalid_signature", ...
        raise

    security.connect_django()                          # Django's user_login_failed / user_logged_in

Metrics (namespace ``security``): ``auth_attempts_total{method, outcome}``,
``auth_failures_total{method, reason}``, ``rate_limited_requests_total{limiter}``,
``intrusion_attempts_total{kind}``, ``sanitized_inputs_total{kind}`` and
``auth_failures_by_source{source}``: failures per source over the last 10
minutes for the top 10 sources only, the rest summed as ``other``
(:mod:`._topn`), never one series per IP. Under ``prefix="kpi"`` seed 001's
``SecurityIntrusionAttempts`` rule runs unchanged; with ``namespace=""`` under
``prefix="django"`` seed 004's ``django_auth_failures_total`` queries do.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from prometheus_client import CollectorRegistry

from tocsin.sdk.metrics import Metrics

from ._base import PackMetrics, child
from ._topn import TopN

__all__ = ["JWT_REASONS", "Security", "jwt_reason"]

#: PyJWT's exception classes → the ``reason`` they count as (most specific first along the MRO).
JWT_REASONS = {
    "ExpiredSignatureError": "expired",
    "ImmatureSignatureError": "not_yet_valid",
    "InvalidSignatureError": "invalid_signature",
    "InvalidAudienceError": "invalid_audience",
    "InvalidIssuerError": "invalid_issuer",
    "InvalidIssuedAtError": "invalid_issued_at",
    "MissingRequiredClaimError": "missing_claim",
    "InvalidAlgorithmError": "invalid_algorithm",
    "InvalidKeyError": "invalid_key",
    "DecodeError": "malformed",
    "InvalidTokenError": "invalid",
}

_top_sources: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, TopN]] = weakref.WeakKeyDictionary()
_top_lock = threading.Lock()


def jwt_reason(error: BaseException | type[BaseException]) -> str:
    """The failure reason of a PyJWT exception (by class name, so PyJWT need not be imported)."""
    cls = error if isinstance(error, type) else type(error)
    for klass in cls.__mro__:
        reason = JWT_REASONS.get(klass.__name__)
        if reason is not None:
            return reason
    return "other"


class Security:
    """Authentication, rate limiting and intrusion metrics (see the module docstring)."""

    def __init__(
        self,
        *,
        namespace: str = "security",
        top_sources: int = 10,
        source_window: float = 600.0,
        metrics: Metrics | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pack = PackMetrics(namespace, metrics, registry)
        self.attempts = pack.counter(
            "auth_attempts_total", "Authentication attempts, by method and outcome.", ["method", "outcome"]
        )
        self.failures = pack.counter(
            "auth_failures_total", "Authentication failures, by method and reason.", ["method", "reason"]
        )
        self.limited = pack.counter(
            "rate_limited_requests_total", "Requests refused by a rate limiter.", ["limiter"]
        )
        self.intrusions = pack.counter("intrusion_attempts_total", "Intrusion attempts, by kind.", ["kind"])
        self.sanitized = pack.counter("sanitized_inputs_total", "Inputs sanitised, by kind.", ["kind"])
        self.sources = _sources(
            pack.registry,
            pack.name("auth_failures_by_source"),
            top_sources,
            source_window,
        )
        self._failures: dict[Any, Any] = {}
        self._attempts: dict[Any, Any] = {}

    def auth_succeeded(self, method: str = "password") -> None:
        """A successful authentication."""
        self._attempt(method, "success")

    def auth_failed(self, reason: str, *, method: str = "password", source: str | None = None) -> None:
        """A failed authentication for ``reason``; ``source`` (an IP) feeds the top-N gauge."""
        self._attempt(method, "failure")
        key = (method, reason)
        found = self._failures.get(key)
        if found is None:
            found = child(self._failures, self.failures, key)
        found.inc()
        if source:
            self.sources.add(source)

    def jwt_failed(self, error: BaseException, *, source: str | None = None) -> str:
        """Count a PyJWT exception as an auth failure (method ``jwt``); returns the reason."""
        reason = jwt_reason(error)
        self.auth_failed(reason, method="jwt", source=source)
        return reason

    def rate_limited(self, limiter: str = "default") -> None:
        """A request refused by ``limiter``."""
        self.limited.labels(limiter).inc()

    def intrusion_attempt(self, kind: str) -> None:
        """An intrusion attempt (``sql_injection``, ``path_traversal``, ``scanner``...)."""
        self.intrusions.labels(kind).inc()

    def input_sanitized(self, kind: str) -> None:
        """An input was sanitised (``html``, ``sql``, ``filename``...)."""
        self.sanitized.labels(kind).inc()

    def _attempt(self, method: str, outcome: str) -> None:
        key = (method, outcome)
        found = self._attempts.get(key)
        if found is None:
            found = child(self._attempts, self.attempts, key)
        found.inc()

    def connect_django(self, *, reason: str = "invalid_credentials") -> None:
        """Count Django's ``user_login_failed`` (with the client's ``REMOTE_ADDR``) and ``user_logged_in``.

        Call it once, e.g. in an ``AppConfig.ready()``; calling it again changes nothing.
        """
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        def failed(sender: Any, credentials: Any = None, request: Any = None, **kwargs: Any) -> None:
            meta = getattr(request, "META", None) or {}
            self.auth_failed(reason, method="django", source=meta.get("REMOTE_ADDR"))

        def succeeded(sender: Any, **kwargs: Any) -> None:
            self.auth_succeeded("django")

        uid = f"tocsin-security-{id(self.failures)}"
        user_login_failed.connect(failed, weak=False, dispatch_uid=f"{uid}-failed")
        user_logged_in.connect(succeeded, weak=False, dispatch_uid=f"{uid}-ok")


def _sources(registry: CollectorRegistry, name: str, top: int, window: float) -> TopN:
    """One top-N collector per registry and name (every Security of a registry shares it)."""
    with _top_lock:
        by_name = _top_sources.setdefault(registry, {})
        found = by_name.get(name)
        if found is None:
            found = by_name[name] = TopN(
                name,
                f"Authentication failures per source over the last {window:g} s: the top {top}, then other.",
                "source",
                top=top,
                window=window,
            )
            registry.register(found)
        return found
