"""The API's views: JWT login and the JWT-protected user data, instrumented with tocsin.

Seed 004's Django metrics: requests and latency by route (``tocsin.sdk.http.django``, names under
prefix ``django``), authentication failures by reason and source, intrusion attempts (the security
pack), database queries, errors and pool use (the db pack). Two log lines the seed's runbooks grep
for: ``Slow request`` (over 500 ms) and ``Auth failure`` (with the source address last).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from tocsin.sdk.metrics import configure
from tocsin.sdk.packs import Database, Security, serve

__all__ = ["SlowRequestLogMiddleware", "dashboard", "profile", "start_metrics", "token", "workouts"]

metrics = configure(app="coaching-django", prefix="django")
security = Security(namespace="")  # django_auth_failures_total{method, reason}, ...
database = Database()  # django_db_queries_total, django_db_connections_active, django_db_pool_size
database.instrument_django()

log = logging.getLogger("coaching.api")
ISSUER = "coaching-django"
TOKEN_LIFETIME = timedelta(minutes=15)
SLOW_REQUEST_S = 0.5
_USERNAME = re.compile(r"[a-z0-9_.-]{1,40}")
_INJECTION = re.compile(r"('|--|;|/\*|\bunion\b|\bselect\b|\bor\s+\d+\s*=\s*\d+)", re.IGNORECASE)
_KINDS = {"run", "bike", "swim", "strength", "yoga", "rowing"}


def start_metrics(port: int) -> None:
    """``/metrics`` on ``port`` (127.0.0.1), from a thread of this worker."""
    serve(port)


@functools.cache
def _jwt_key() -> str:
    return Path(settings.JWT_KEY_FILE).read_text(encoding="utf-8").strip()


def _source(request: HttpRequest) -> str:
    """The client's address; ``X-Forwarded-For`` only from the loopback proxy (the demo's clients)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if forwarded and remote == "127.0.0.1":
        return forwarded.split(",")[0].strip()[:45]
    return remote


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class SlowRequestLogMiddleware:
    """``Slow request GET api/v1/dashboard 812 ms``: the line seed 004's first runbook greps for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        if elapsed > SLOW_REQUEST_S:
            match = request.resolver_match
            route = match.route if match is not None else request.path
            log.warning("Slow request %s %s %d ms status=%s", request.method, route, elapsed * 1000,
                        response.status_code)  # fmt: skip
        return response


def token(request: HttpRequest) -> HttpResponse:
    """``POST {"username", "password"}`` → ``{"access": <JWT>}`` (HS256, 15 minutes)."""
    if request.method != "POST":
        return _error(405, "POST only")
    source = _source(request)
    try:
        body = json.loads(request.body or b"{}")
        username, password = str(body["username"]), str(body["password"])
    except (ValueError, KeyError, TypeError):
        return _error(400, "a JSON body with username and password is required")
    if not _USERNAME.fullmatch(username):
        if _INJECTION.search(username):
            security.intrusion_attempt("sql_injection")
            log.warning("Intrusion attempt kind=sql_injection field=username from %s", source)
        security.auth_failed("invalid_input", source=source)
        log.warning("Auth failure reason=invalid_input from %s", source)
        return _error(400, "invalid username")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, password FROM coach_user WHERE username = %s", [username])
        row = cursor.fetchone()
    if row is None or not check_password(password, row[1]):
        security.auth_failed("invalid_credentials", source=source)
        log.warning("Auth failure reason=invalid_credentials user=%s from %s", username, source)
        return _error(401, "invalid credentials")
    security.auth_succeeded()
    now = datetime.now(UTC)
    claims = {"sub": username, "uid": row[0], "iss": ISSUER, "iat": now, "exp": now + TOKEN_LIFETIME}
    return JsonResponse({"access": jwt.encode(claims, _jwt_key(), algorithm="HS256")})


def _authenticated(
    view: Callable[[HttpRequest, dict[str, Any]], HttpResponse],
) -> Callable[..., HttpResponse]:
    """The view with the caller's JWT claims; 401 (and a counted failure, by reason) without a valid one."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        source = _source(request)
        if not header.startswith("Bearer "):
            security.auth_failed("missing_token", method="jwt", source=source)
            log.warning("Auth failure reason=missing_token from %s", source)
            return _error(401, "a Bearer token is required")
        try:
            claims = jwt.decode(header[7:], _jwt_key(), algorithms=["HS256"], issuer=ISSUER,
                                options={"require": ["exp", "sub", "uid"]})  # fmt: skip
        except jwt.InvalidTokenError as err:
            reason = security.jwt_failed(err, source=source)
            log.warning("Auth failure reason=%s from %s", reason, source)
            return _error(401, f"invalid token ({reason})")
        return view(request, claims)

    return wrapper


@_authenticated
def profile(request: HttpRequest, claims: dict[str, Any]) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.username, u.goal, count(w.id) FROM coach_user u LEFT JOIN coach_workout w"
            " ON w.user_id = u.id WHERE u.id = %s GROUP BY u.id",
            [claims["uid"]],
        )
        row = cursor.fetchone()
    if row is None:
        return _error(404, "no such user")
    return JsonResponse({"username": row[0], "goal": row[1], "workouts": row[2]})


@_authenticated
def workouts(request: HttpRequest, claims: dict[str, Any]) -> HttpResponse:
    """``GET``: the last 20 workouts; ``POST {"kind", "minutes"}``: log one."""
    if request.method == "POST":
        try:
            body = json.loads(request.body or b"{}")
            kind, minutes = str(body["kind"]), int(body["minutes"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "a JSON body with kind and minutes is required")
        if kind not in _KINDS or not 1 <= minutes <= 600:
            return _error(400, f"kind one of {sorted(_KINDS)}, minutes 1 to 600")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO coach_workout (user_id, kind, minutes) VALUES (%s, %s, %s) RETURNING id",
                [claims["uid"], kind, minutes],
            )
            (new_id,) = cursor.fetchone() or (None,)
        return JsonResponse({"id": new_id}, status=201)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, minutes, done_at FROM coach_workout WHERE user_id = %s"
            " ORDER BY done_at DESC LIMIT 20",
            [claims["uid"]],
        )
        rows = cursor.fetchall()
    return JsonResponse(
        {"workouts": [{"kind": k, "minutes": m, "done_at": d.isoformat()} for k, m, d in rows]}
    )


@_authenticated
def dashboard(request: HttpRequest, claims: dict[str, Any]) -> HttpResponse:
    """Minutes by kind over the last 7 days, and the week's total: the Streamlit page's data."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, sum(minutes), count(*) FROM coach_workout WHERE user_id = %s"
            " AND done_at > now() - interval '7 days' GROUP BY kind ORDER BY kind",
            [claims["uid"]],
        )
        rows = cursor.fetchall()
    by_kind = {k: {"minutes": int(m), "sessions": c} for k, m, c in rows}
    return JsonResponse({"user": claims["sub"], "week_minutes": sum(v["minutes"] for v in by_kind.values()),
                         "by_kind": by_kind})  # fmt: skip
