"""A small service for drills: ``python _service.py PORT [DELAY]`` keeps a child serving /metrics on
PORT and starts it again DELAY s (default 8) after it dies: its own restart, as systemd's
``Restart=on-failure`` with ``RestartSec=8`` would.

Prints the port on its first line (tests.conftest.serve_script's protocol).
"""

from __future__ import annotations

import subprocess
import sys
import time


def child(port: int) -> None:
    from prometheus_client import Counter, start_http_server

    served = Counter("drill_service_starts", "Times this service started.")
    served.inc()
    start_http_server(port, addr="127.0.0.1")
    while True:
        time.sleep(3600)


def main() -> None:
    if sys.argv[1] == "--child":
        child(int(sys.argv[2]))
        return
    port = int(sys.argv[1])
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
    print(port, flush=True)
    while True:
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(port)])
        proc.wait()
        time.sleep(delay)


if __name__ == "__main__":
    main()
