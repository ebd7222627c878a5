"""A stand-in application process for the stack's tests: ``/health`` on ``PORT`` plus a child.

The child (a sleeping subprocess) lets the tests prove that stopping a process stops its whole
process group. Its pid is written to ``RUN_DIR/child.pid``.
"""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from kernel.settings import get_settings


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep the test log quiet
        pass


def main() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    settings = get_settings()
    (Path(settings.run_dir) / "child.pid").write_text(str(child.pid))
    HTTPServer(("127.0.0.1", int(settings.port)), _Health).serve_forever()


if __name__ == "__main__":
    main()
