"""A minimal stand-in component for supervisor tests: answers 200 on every path of 127.0.0.1:PORT.

``--ignore-sigterm`` makes it one that hangs on shutdown (only SIGKILL stops it).
"""

from __future__ import annotations

import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port = int(sys.argv[1])
    if "--ignore-sigterm" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on {port}", flush=True)
    HTTPServer(("127.0.0.1", port), _Ok).serve_forever()


if __name__ == "__main__":
    main()
