"""The real movies service, dying mid-request on demand: ``python -m tests.proxy.crashing_service``.

A request with ``?crash=before-commit`` SIGKILLs its worker after the handler wrote its rows
and before the request transaction committed; ``?crash=after-commit`` SIGKILLs it after the
commit, before the answer left. Either way the gateway's connection breaks with the answer
lost, which is what a service crash under a write looks like from outside. The gunicorn
master starts a new worker, as in production.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

from domain_services.movies.app import create_app as movies_app
from kernel.server import serve
from kernel.settings import Settings


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _DieAfterCommit:
    """WSGI middleware: the app (and its commit) ran; die before the answer is sent."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = self.app(environ, start_response)
        if "crash=after-commit" in environ.get("QUERY_STRING", ""):
            _die()
        return body


def create_app(settings: Settings) -> Flask:
    """The movies service with the two crash points."""
    app = movies_app(settings)

    # after_request hooks run last-registered first: this one runs before the hook that commits
    @app.after_request
    def _before_commit(response: Response) -> Response:
        if request.args.get("crash") == "before-commit":
            _die()
        return response

    app.wsgi_app = _DieAfterCommit(app.wsgi_app)
    return app


if __name__ == "__main__":
    serve(create_app, 8081)
