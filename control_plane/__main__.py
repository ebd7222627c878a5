"""``python -m control_plane``: serve the console on ``PORT`` (default 8090)."""

from __future__ import annotations

from control_plane import create_app
from kernel.server import serve

if __name__ == "__main__":
    serve(create_app, 8090)
