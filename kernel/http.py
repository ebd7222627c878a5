"""Flask glue shared by every HTTP entry point: JSON bodies, the one error mapping, health.

Domain exceptions become ``{"error": message}`` with their status here and nowhere else.
Any unexpected exception becomes a JSON 500 without a stack trace (it is logged).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from kernel.errors import DomainError, InvalidInput
from kernel.validation import parse_json

log = logging.getLogger(__name__)


def json_body() -> Any:
    """Parse the request body as JSON or raise :class:`InvalidInput` with a clear reason."""
    raw = request.get_data(cache=True)
    if not raw:
        raise InvalidInput("request body must be a JSON object")
    return parse_json(raw)


def error_response(message: str, status: int) -> tuple[Response, int]:
    """The contract's error shape."""
    return jsonify({"error": message}), status


def register_error_handlers(app: Flask) -> None:
    """Map every error to JSON: domain errors, HTTP errors (404/405/413), and the unexpected."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        response, status = error_response(exc.message, exc.status)
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        messages = {413: "request body too large", 404: "not found", 405: "method not allowed"}
        return error_response(messages.get(exc.code or 500, exc.description or exc.name), exc.code or 500)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        log.error("database unavailable: %s", exc.orig)
        return error_response("database unavailable, try again shortly", 503)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal error", 500)


def created(payload: dict[str, Any]) -> tuple[Response, int]:
    """201 with the created object."""
    return jsonify(payload), 201
