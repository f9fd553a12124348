"""Instrument real open-source apps as docs/http.md says, drive every route, check the labels.

Fetches nothing: give it a checkout (kept outside this repository) and run it with a Python
that has the app's own requirements plus tocsin (``pip install -e <tocsin> --no-deps`` and
prometheus-client, structlog, orjson)::

    python scripts/real_apps.py microblog PATH/microblog          # Flask factory + blueprints
    python scripts/real_apps.py fastapi PATH/full-stack-fastapi-template/backend
    python scripts/real_apps.py django PATH/django-locallibrary-tutorial

Each run copies the checkout to a temporary directory, adds tocsin there (the lines a user
adds, nothing else), serves every route in-process, plus an unknown path (404), a wrong method
(405) and a view made to raise (500), and prints the ``http_requests_total`` series. It fails
when a route is not templated, the 404 is not ``<unmatched>``, or the 405/500 lost their route.
The routing shapes of these apps are reproduced, without their code, in
``tests/sdk/http/test_http_real_shapes.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

Expect = list[tuple[str, str, str, int | None]]  # method, path, route, status (None: any)


def _series() -> dict[tuple[str, str, str], float]:
    from prometheus_client import REGISTRY

    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in REGISTRY.collect()
        if family.name == "http_requests"
        for s in family.samples
        if s.name == "http_requests_total"
    }


def _check(expect: Expect, got_status: list[int]) -> int:
    series = _series()
    for (method, route, status), value in sorted(series.items()):
        print(f"  {method:7} {status} {route:50} {value:g}")
    failures = 0
    for (method, path, route, status), got in zip(expect, got_status, strict=True):
        wanted = [k for k in series if k[0] == method and k[1] == route and k[2] == str(got)]
        ok = bool(wanted) and (status is None or got == status)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {method} {path} -> {got} labelled {route!r}")
    print(f"{len(expect) - failures} passed, {failures} failed")
    return 1 if failures else 0


def microblog(checkout: Path) -> int:
    """Flask app factory with blueprints: tocsin goes into create_app(), as docs/http.md shows."""
    init = checkout / "app" / "__init__.py"
    source = init.read_text()
    source = source.replace(
        "    app = Flask(__name__)\n",
        "    from tocsin.sdk import metrics as tocsin_metrics\n"
        "    from tocsin.sdk.http import instrument_flask\n"
        "    tocsin_metrics.configure(app='microblog')\n"
        "    app = Flask(__name__)\n",
        1,
    )
    source = source.replace("    return app\n", "    instrument_flask(app)\n    return app\n", 1)
    init.write_text(source)
    os.environ.update(DATABASE_URL="sqlite://", ELASTICSEARCH_URL="", MAIL_SERVER="")
    print("microblog's own test suite, with tocsin in create_app():")
    suite = subprocess.run([sys.executable, "-m", "unittest", "-q", "tests"], cwd=checkout)
    sys.path.insert(0, str(checkout))
    from app import create_app, db  # type: ignore[import-not-found]

    class Config:
        SECRET_KEY = "x"
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        TESTING = True
        WTF_CSRF_ENABLED = False
        ELASTICSEARCH_URL = None
        LANGUAGES: ClassVar = ["en"]
        POSTS_PER_PAGE = 25
        MS_TRANSLATOR_KEY = None
        MAIL_SERVER = None
        ADMINS: ClassVar = ["admin@example.org"]
        REDIS_URL = "redis://127.0.0.1:6379/15"

    app = create_app(Config)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-for-tocsin")
    def boom() -> str:
        raise RuntimeError("boom")

    with app.app_context():
        db.create_all()
        from app.models import User  # type: ignore[import-not-found]

        user = User(username="ann", email="ann@example.org")
        user.set_password("pw")
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    expect: Expect = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static",) or rule.rule.startswith("/boom"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: "ann" if m[1] == "username" else "1", rule.rule)
        method = "GET" if "GET" in (rule.methods or ()) else sorted(rule.methods or {"POST"})[0]
        expect.append((method, path, rule.rule, None))
    expect += [
        ("GET", "/no/such/page", "<unmatched>", 404),
        ("DELETE", "/index", "/index", 405),
        ("GET", "/boom-for-tocsin", "/boom-for-tocsin", 500),
    ]
    statuses = []
    for method, path, _, _ in expect:
        with client.open(path, method=method) as response:
            statuses.append(response.status_code)
    return _check(expect, statuses) or suite.returncode


def fastapi(backend: Path) -> int:
    """full-stack-fastapi-template's backend: routers under /api/v1, docs, CORS, app.frontend()."""
    main = backend / "app" / "main.py"
    source = main.read_text()
    source = source.replace(
        "app.include_router(api_router, prefix=settings.API_V1_STR)\n",
        "app.include_router(api_router, prefix=settings.API_V1_STR)\n"
        "from tocsin.sdk.http import PrometheusMiddleware\n"
        "app.add_middleware(PrometheusMiddleware)\n",
        1,
    )
    main.write_text(source)
    (backend / "app" / "frontend").mkdir(exist_ok=True)  # the newest serves the SPA: app.frontend()
    (backend / "app" / "frontend" / "index.html").write_text("<html></html>")
    os.environ.update(
        PROJECT_NAME="t", POSTGRES_SERVER="127.0.0.1", POSTGRES_USER="postgres", POSTGRES_PASSWORD="",
        POSTGRES_DB="test", FIRST_SUPERUSER="admin@example.org", FIRST_SUPERUSER_PASSWORD="changethis-x",
        SECRET_KEY="x" * 32, FRONTEND_HOST="http://localhost:5173", ENVIRONMENT="local",
        BACKEND_CORS_ORIGINS="http://localhost:5173",
    )  # fmt: skip
    sys.path.insert(0, str(backend))
    import asyncio

    import httpx
    from app.main import app  # type: ignore[import-not-found]

    async def boom() -> None:
        raise RuntimeError("boom")

    app.router.add_api_route("/boom-for-tocsin", boom, tags=["tocsin"])  # the template ids by tag
    expect: Expect = []
    for template, operations in app.openapi()["paths"].items():  # every API route, included or not
        if template != "/boom-for-tocsin":
            method = "GET" if "get" in operations else sorted(operations)[0].upper()
            expect.append((method, re.sub(r"\{[^}]+\}", "1", template), template, None))
    for route in app.routes:  # the plain Starlette routes: /docs, /redoc, the OpenAPI document
        if type(route).__name__ == "Route":
            expect.append(("GET", route.path, route.path_format, None))
    expect += [
        ("GET", "/api/v1/no/such/page", "<unmatched>", 404),
        ("PATCH", "/api/v1/login/access-token", "/api/v1/login/access-token", 405),
        ("OPTIONS", "/api/v1/items/", "/api/v1/items/", 200),  # CORS preflight
        ("GET", "/boom-for-tocsin", "/boom-for-tocsin", 500),
    ]
    preflight = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"}

    async def drive() -> list[int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            out = []
            for method, path, _, _ in expect:
                headers = preflight if method == "OPTIONS" else {}
                out.append((await client.request(method, path, headers=headers)).status_code)
            return out

    return _check(expect, asyncio.run(drive()))


def django(checkout: Path) -> int:
    """django-locallibrary-tutorial: include(), class-based views, the admin, a redirect."""
    settings = checkout / "locallibrary" / "settings.py"
    settings.write_text(
        settings.read_text() + "\nMIDDLEWARE = ['tocsin.sdk.logging.django.RequestIdMiddleware',"
        " 'tocsin.sdk.http.django.PrometheusMiddleware', *MIDDLEWARE]\n"
        "ALLOWED_HOSTS = ['testserver', '127.0.0.1', 'localhost']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
        "STORAGES = {'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    )
    sys.path.insert(0, str(checkout))
    os.environ["DJANGO_SETTINGS_MODULE"] = "locallibrary.settings"
    import django as django_module

    django_module.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import URLPattern, URLResolver, get_resolver

    call_command("migrate", verbosity=0)
    import catalog.views  # type: ignore[import-not-found]

    def boom(request: Any) -> Any:
        raise RuntimeError("boom")

    catalog.views.index = boom  # the index view raises: its route must stay
    expect: Expect = []

    def walk(patterns: list[Any], prefix: str, route: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern), route + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                raw = str(pattern.pattern)
                if "(?P" in raw or raw.startswith("^"):
                    continue  # regex patterns (the admin's, static's) need real values
                concrete = re.sub(r"<uuid:\w+>", "6f1c2a8e-8a3a-4d0e-9a55-0b5c1d2e3f40", prefix + raw)
                concrete = re.sub(r"<(int:)?\w+>", "1", re.sub(r"<(str|slug|path):\w+>", "x", concrete))
                expect.append(("GET", "/" + concrete, (route + raw) or "/", None))

    walk(get_resolver().url_patterns, "", "")
    expect += [
        ("GET", "/no/such/page/", "<unmatched>", 404),
        ("GET", "/catalog/", "catalog/", 500),
    ]
    client = Client(raise_request_exception=False)
    statuses = [client.get(path).status_code for _, path, _, _ in expect]
    return _check(expect, statuses)


APPS: dict[str, Callable[[Path], int]] = {"microblog": microblog, "fastapi": fastapi, "django": django}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in APPS:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "app"
        shutil.copytree(argv[1], copy)
        os.chdir(copy)
        return APPS[argv[0]](copy)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
