"""A users table in memory behind the real unit-of-work protocol (no database).

:class:`FakeUsersSession` subclasses the shared :class:`~tests.support.fakes.FakeSession` (itself
SQLAlchemy's ``Session``): it answers what the users rules ask of a session — ``get`` a user,
``add`` and ``flush`` (ids assigned like a sequence would), ``delete``, and the token
revocation statement on ``connection()`` — and records it. Uniqueness is PostgreSQL's job and
stays tested live (tests/domain_services).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from domain_services.users.models import User
from kernel import db
from kernel.models import OutboxEvent
from tests.support.fakes import FakeSession, _Scalar


class FakeConnection(Connection):
    """Records raw statements (the revocation upsert) and answers them like PostgreSQL would."""

    def __init__(self, statements: list[tuple[str, dict[str, Any]]]) -> None:  # no engine, no socket
        self.statements = statements

    def exec_driver_sql(self, statement: str, parameters: Any = None, execution_options: Any = None) -> Any:
        self.statements.append((statement, dict(parameters or {})))
        if "token_revocations" in statement:
            return _Scalar(parameters["not_before"])
        raise NotImplementedError(f"FakeConnection cannot run: {statement[:80]}")


class FakeUsersSession(FakeSession):
    """A session over an in-memory users table; ``rows`` survive across units of work."""

    def __init__(self, users: list[User] | None = None) -> None:
        super().__init__()
        self.rows: dict[int, User] = {u.id: u for u in users or []}
        self.removed: list[Any] = []
        self.raw: list[tuple[str, dict[str, Any]]] = []

    def get(self, entity: Any, ident: Any, *args: Any, **kwargs: Any) -> Any:
        assert entity is User, f"the fake holds users only, not {entity}"
        return self.rows.get(ident)

    def flush(self, objects: Any = None) -> None:
        for instance in self.added:
            if isinstance(instance, User) and instance.id is None:
                instance.id = max(self.rows, default=0) + 1
                self.rows[instance.id] = instance

    def delete(self, instance: object) -> None:
        self.removed.append(instance)
        if isinstance(instance, User):
            self.rows.pop(instance.id, None)

    def connection(self, *args: Any, **kwargs: Any) -> Any:
        return FakeConnection(self.raw)

    @property
    def events(self) -> list[OutboxEvent]:
        """The outbox rows written, in order."""
        return [row for row in self.added if isinstance(row, OutboxEvent)]

    @property
    def revoked(self) -> list[tuple[int, str]]:
        """``(user_id, reason)`` of every token revocation written."""
        return [(params["user_id"], params["reason"]) for sql, params in self.raw if "token_revocations" in sql]


def fake_uow_factory(session: FakeUsersSession):
    """A unit-of-work factory over ``session`` running the real :func:`kernel.db.unit_of_work` protocol."""

    @contextmanager
    def open_unit() -> Iterator[db.UnitOfWork]:
        with db.unit_of_work(session_factory=lambda: session) as uow:
            yield uow

    return open_unit
