"""Domain exceptions. Entry points map them to HTTP statuses in one place (``http.py``)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller can fix by changing the request."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is malformed or a value is out of range."""

    status = 400


class NotFound(DomainError):
    """The addressed entity does not exist."""

    status = 404


class Conflict(DomainError):
    """The write conflicts with existing state (duplicate key, invalid transition)."""

    status = 409


class Unauthorized(DomainError):
    """Credentials are missing or wrong."""

    status = 401


class Forbidden(DomainError):
    """The caller is known but may not do this (another user's data, a role it lacks)."""

    status = 403


class TooManyRequests(DomainError):
    """The caller is throttled; ``retry_after`` (seconds), when known, becomes the ``Retry-After`` header."""

    status = 429

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
