"""Django settings of the coaching API; everything that differs per run comes from the environment
(``python -m examples.coaching_ai django`` sets it from its options): never a secret in this file."""

from __future__ import annotations

import os
from pathlib import Path

from ..store import dsn

_db = os.environ.get("COACHING_DB", "tocsin_coaching_ai")
_log_dir = Path(os.environ.get("COACHING_LOG_DIR", "logs"))
_log_dir.mkdir(parents=True, exist_ok=True)
_key_file = os.environ.get("COACHING_DJANGO_KEY_FILE")

SECRET_KEY = Path(_key_file).read_text(encoding="utf-8").strip() if _key_file else os.urandom(32).hex()
#: the key JWTs are signed with, shared with the AI service (a file, never the environment's text)
JWT_KEY_FILE = os.environ.get("COACHING_JWT_KEY_FILE", "secrets/jwt-signing-key")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "examples.coaching_ai.django_api.urls"
INSTALLED_APPS: list[str] = []
USE_TZ = True

MIDDLEWARE = [
    "tocsin.sdk.http.django.PrometheusMiddleware",  # first: times everything below it
    "examples.coaching_ai.django_api.views.SlowRequestLogMiddleware",
]
# seed 004's names: django_requests_total, django_request_duration_seconds (prefix "django", no "http_")
TOCSIN_HTTP = {"namespace": "", "excluded_paths": ["/metrics", "/health", "/health/live", "/health/ready"]}

_url = dsn(_db)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db,
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "USER": os.environ.get("PGUSER", ""),
        # Django 5.1+'s pool (psycopg_pool): the seed's "database_connections > 80 % / 95 % pool"
        "OPTIONS": {
            # a 30 s wait for a connection (psycopg_pool's default), so the db-lock fault slows, never 500s
            "pool": {"min_size": 1, "max_size": 4, "timeout": 30},
            "application_name": "coaching-django",
            "connect_timeout": 3,
        },
    }
}
# the demo's users are hashed with 1,000 PBKDF2 iterations (store.password_hash): hashers.py says why
PASSWORD_HASHERS = ["examples.coaching_ai.django_api.hashers.DemoPBKDF2PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s [%(levelname)s] [%(name)s] %(message)s"}},
    "handlers": {
        "file": {
            "class": "logging.FileHandler",
            "filename": str(_log_dir / "django.log"),
            "formatter": "plain",
        },
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "level": "WARNING"},
    },
    "loggers": {
        "django": {"handlers": ["file", "console"], "level": "INFO", "propagate": False},
        "coaching": {"handlers": ["file"], "level": "INFO", "propagate": False},
    },
}
