"""Database engine, sessions and the unit of work.

A unit of work is one transaction: it commits only when the block completes and rolls back
on any exception. Callbacks registered with :meth:`UnitOfWork.after_commit` run only after a
successful commit, which is where the outbox relay gets nudged (never before the commit, or
the relay could look for a row that is not visible yet).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from domain_services.shared.settings import get_settings

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    """Declarative base shared by every table, so Alembic sees one metadata."""


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One pooled engine per database URL per process (never created at import time)."""
    return create_engine(
        url or get_settings().database_url,
        pool_pre_ping=True,  # survive a PostgreSQL restart without failing the first request
        pool_size=10,
        max_overflow=20,
    )


@lru_cache(maxsize=8)
def get_session_factory(url: str | None = None) -> sessionmaker[Session]:
    """Session factory bound to :func:`get_engine`."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


class UnitOfWork:
    """A session plus post-commit callbacks. Use via :func:`unit_of_work`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction has committed (deduplicated by identity)."""
        if callback not in self._after_commit:
            self._after_commit.append(callback)

    def run_after_commit(self) -> None:
        """Run the post-commit callbacks; a failing callback is logged, the commit stands."""
        for callback in self._after_commit:
            try:
                callback()
            except Exception:  # the data is committed; a failed nudge is healed by the sweep
                log.exception("after-commit callback %r failed", callback)


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[UnitOfWork]:
    """Open a transaction; commit on success, roll back on error, then run after-commit hooks."""
    session = get_session_factory(url)()
    uow = UnitOfWork(session)
    try:
        yield uow
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    uow.run_after_commit()


@contextmanager
def read_session(url: str | None = None) -> Iterator[Session]:
    """A session for queries only; it never commits."""
    session = get_session_factory(url)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
