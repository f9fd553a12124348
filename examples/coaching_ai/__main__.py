"""``python -m examples.coaching_ai COMMAND``: setup, drop, llm-server, django, ai, ui, traffic."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _keys(state_dir: Path) -> tuple[Path, Path]:
    return state_dir / "jwt-signing-key", state_dir / "django-secret-key"


def _write_secret(path: Path) -> None:
    """A new random key, readable by its owner only (never printed, never in the spec)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.coaching_ai", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "setup": "create the database (users, workouts, RAG passages) and the signing keys",
        "drop": "drop the database",
        "llm-server": "the OpenAI-compatible test server",
        "django": "the Django REST API under gunicorn (/metrics on --metrics-port)",
        "ai": "the FastAPI AI service under uvicorn",
        "ui": "the Streamlit page (/metrics on --metrics-port)",
        "traffic": "athletes using the app: Django API, AI coach, knowledge search, Streamlit visits",
    }
    for name, help in commands.items():
        command = sub.add_parser(name, help=help, description=help)
        command.add_argument("--db", default="tocsin_coaching_ai", help="database name (default %(default)s)")
        command.add_argument("--state-dir", type=Path, default=Path("state"), help="signing keys")
        command.add_argument("--log-dir", type=Path, default=Path("logs"), help="where the log files go")
        command.add_argument("--port", type=int, default={"llm-server": 8090, "django": 8002, "ai": 8000,
                                                           "ui": 8501}.get(name, 0))  # fmt: skip
        command.add_argument("--metrics-port", type=int, default={"django": 8003, "ui": 8502}.get(name, 0))
        command.add_argument("--django", default="http://127.0.0.1:8002", help="the Django API's URL")
        command.add_argument("--ai", default="http://127.0.0.1:8000", help="the AI service's URL")
        command.add_argument("--llm", default="http://127.0.0.1:8090/v1", help="the OpenAI-compatible API")
        command.add_argument("--ui", default="http://127.0.0.1:8501", help="the Streamlit page")
    args = parser.parse_args(argv)

    from .store import create_database, drop_database, dsn

    database = dsn(args.db)
    jwt_key, django_key = _keys(args.state_dir)
    if args.command == "setup":
        created = create_database(database)
        for key in (jwt_key, django_key):
            if not key.exists():
                _write_secret(key)
        print(f"database {args.db}: {'created' if created else 'already there'}; keys in {args.state_dir}")
        return 0
    if args.command == "drop":
        drop_database(database)
        print(f"database {args.db} dropped")
        return 0
    if args.command == "llm-server":
        from .llm_server import serve

        serve(args.port)
        return 0
    if args.command == "traffic":
        from .traffic import main as traffic

        return traffic(args.django, args.ai, args.ui)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "django":
        os.environ.update(
            COACHING_DB=args.db, COACHING_LOG_DIR=str(args.log_dir.resolve()),
            COACHING_JWT_KEY_FILE=str(jwt_key.resolve()), COACHING_DJANGO_KEY_FILE=str(django_key.resolve()),
            COACHING_METRICS_PORT=str(args.metrics_port),
            DJANGO_SETTINGS_MODULE="examples.coaching_ai.django_api.settings",
        )  # fmt: skip
        from gunicorn.app.wsgiapp import run

        # one worker (the metrics and the pool are per process), 16 threads sharing a pool of 4
        sys.argv = ["gunicorn", "--bind", f"127.0.0.1:{args.port}", "--workers", "1", "--threads", "16",
                    "--worker-class", "gthread", "--timeout", "60", "--log-level", "warning",
                    "examples.coaching_ai.django_api.wsgi:application"]  # fmt: skip
        run()
        return 0
    if args.command == "ai":
        import uvicorn

        from .ai_service import build_app
        from .logs import setup_logging

        setup_logging("coaching", args.log_dir / "ai.log")
        app = build_app(database, args.llm, jwt_key)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
        return 0
    from .logs import setup_logging

    os.environ.update(COACHING_UI_METRICS_PORT=str(args.metrics_port), COACHING_DJANGO_URL=args.django,
                      COACHING_AI_URL=args.ai)  # fmt: skip
    setup_logging("coaching", args.log_dir / "ui.log")
    from . import ui_support

    ui_support.start()
    with contextlib.suppress(ImportError):  # what the page's first run would import: not on a visitor's time
        import altair  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(HERE / "ui.py"), "--server.port", str(args.port),
                "--server.address", "127.0.0.1", "--server.headless", "true",
                "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
                "--logger.level", "warning"]  # fmt: skip
    return int(cli.main(standalone_mode=False) or 0)


if __name__ == "__main__":
    sys.exit(main())
