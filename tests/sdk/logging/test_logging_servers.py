"""uvicorn's and gunicorn's own lines, Flask's and Django's handlers: every line once, as JSON (item 7).

The servers run as real processes, as users start them; every line they print must parse as
JSON, the access line must carry its fields, and the app's own line must come out exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from logging_helpers import json_lines
from tests.conftest import free_port, wait_for

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def _env() -> dict[str, str]:
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*inherited, str(ROOT / "src"), str(ROOT), str(HERE)]),
    }


def _serve_and_get(
    command: list[str], port: int, path: str, cwd: Path, *, all_json: bool = True
) -> list[dict[str, Any]]:
    """Run the server, GET ``path`` twice, stop it; every line it printed, parsed as JSON (only
    the JSON ones unless ``all_json``: then any other line fails the test)."""
    proc = subprocess.Popen(
        command, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}{path}"
        wait_for(lambda: httpx.get(url, timeout=2).status_code == 200, timeout=30, what=" ".join(command[:3]))
        assert httpx.get(url, timeout=5).status_code == 200
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    if all_json:
        return json_lines(output)  # fails on any line that is not JSON
    plain = [line for line in output.splitlines() if not line.startswith("{")]
    assert not [line for line in plain if "says hello" in line or "GET /" in line], (
        plain
    )  # the app's, as text
    return json_lines("\n".join(line for line in output.splitlines() if line.startswith("{")))


def _once(lines: list[dict[str, Any]], event: str, served: str) -> None:
    """``event`` logged once per request: as many times as the access log has ``served`` lines."""
    said = [line for line in lines if line.get("event") == event]
    requests = [
        line for line in lines if line not in said and served in f"{line.get('path')} {line['event']}"
    ]
    assert len(said) == len(requests) >= 2, (event, said, requests)


@pytest.mark.parametrize("with_log_config", [False, True])
def test_uvicorn_lines_are_json_with_access_fields(tmp_path: Path, with_log_config: bool) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "servers_apps:asgi_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if with_log_config:
        config = tmp_path / "uvicorn-logging.json"
        printed = subprocess.run(
            [sys.executable, "-m", "tocsin.sdk.logging.servers", "uvicorn"], env=_env(), capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        config.write_text(printed.stdout)
        command += ["--log-config", str(config)]
    lines = _serve_and_get(command, port, "/hello/ann", tmp_path)
    _once(lines, "asgi says hello", "/hello/ann")
    access = [
        line for line in lines if line["logger"] == "uvicorn.access" and line.get("path") == "/hello/ann"
    ]
    assert access and access[-1]["method"] == "GET" and access[-1]["status"] == 200
    assert any(line["logger"] == "uvicorn.error" and "Uvicorn running" in line["event"] for line in lines)
    assert all(
        line.get("service") == "servers-test" for line in lines if line["logger"].startswith("uvicorn")
    )


@pytest.mark.parametrize("with_log_config", [False, True])
def test_gunicorn_and_flask_lines_are_json_and_printed_once(tmp_path: Path, with_log_config: bool) -> None:
    port = free_port()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(
        "from tocsin.sdk.logging.servers import gunicorn_logconfig_dict\n"
        "logconfig_dict = gunicorn_logconfig_dict()\n"
        if with_log_config
        else "accesslog = '-'\n"  # gunicorn's own handlers, and Flask's, taken over by configure()
    )
    command = [sys.executable, "-m", "gunicorn", "-c", str(conf), "-b", f"127.0.0.1:{port}", "-w", "1",
               "servers_apps:flask_app"]  # fmt: skip
    # Without the log config, the master's lines before the app is imported are gunicorn's text.
    lines = _serve_and_get(command, port, "/hello/bob", tmp_path, all_json=with_log_config)
    _once(
        lines, "flask says hello bob", "/hello/bob"
    )  # Flask's own handler would print it a second time, as text
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert len(access) >= 2
    assert (
        access[-1]["path"] == "/hello/bob" and access[-1]["status"] == 200 and access[-1]["method"] == "GET"
    )
    assert "duration_ms" in access[-1]
    if with_log_config:  # the master's own start-up lines too
        assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["event"] for line in lines)


def test_django_debug_console_does_not_print_twice(tmp_path: Path) -> None:
    port = free_port()
    site = tmp_path / "debug_site.py"
    site.write_text(
        "import sys\n"
        "from django.conf import settings\n"
        "settings.configure(DEBUG=True, ROOT_URLCONF=__name__, ALLOWED_HOSTS=['127.0.0.1'],\n"
        "    SECRET_KEY='x' * 50, INSTALLED_APPS=[], MIDDLEWARE=[])\n"  # Django's own LOGGING: DEBUG console
        "from django.core.wsgi import get_wsgi_application\n"
        "application = get_wsgi_application()  # django.setup(): Django's logging, then the apps\n"
        "from tocsin.sdk import logging as tlog\n"
        "tlog.configure('production', 'INFO')  # where AppConfig.ready() runs it, after Django's logging\n"
        "import logging\n"
        "from django.http import HttpResponse\n"
        "from django.urls import path\n"
        "def hello(request):\n"
        "    logging.getLogger('django.request').warning('django says hello')\n"
        "    return HttpResponse('hello')\n"
        "urlpatterns = [path('hello', hello)]\n"
        "from werkzeug.serving import make_server\n"
        "make_server('127.0.0.1', int(sys.argv[1]), application).serve_forever()\n"
    )
    lines = _serve_and_get([sys.executable, str(site), str(port)], port, "/hello", tmp_path)
    _once(lines, "django says hello", "/hello")
    assert json.dumps(lines)  # every line was JSON
