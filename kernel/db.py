"""Database engine, sessions and the unit of work.

A unit of work is one transaction: it commits only when the block completes and rolls back
on any exception. Callbacks registered with :meth:`UnitOfWork.after_commit` run only after a
successful commit, which is where the outbox relay gets nudged (never before the commit, or
the relay could look for a row that is not visible yet).

A request that must be exactly-once (:mod:`kernel.exactly_once`) runs inside one *request
transaction* (:func:`request_transaction`): every unit of work opened meanwhile joins it as a
savepoint (a failing block still rolls back only its own work), every read session reads
through it (so the answer sees the request's own writes), and after-commit callbacks wait for
the request's commit. That is how the request's key and answer commit with its write.

Which database: this module never reads settings. A composition root (an app factory, the
CLI, a worker or consumer entry point, the test session) calls :func:`bind` with its
settings' ``database_url`` once; every session opened without an explicit URL uses that one.
Opening a session before any root bound a database raises :class:`DatabaseNotBound` — a
wiring mistake found at once instead of a silent connection to a default database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

_bound_url: str | None = None
_ENGINES: dict[str, Engine] = {}  # created on first use, never at import time


class Base(DeclarativeBase):
    """Declarative base shared by every table, so Alembic sees one metadata."""


class DatabaseNotBound(RuntimeError):
    """A session was opened without a URL before a composition root called :func:`bind`."""


def bind(database_url: str) -> None:
    """Make ``database_url`` this process's database (called by composition roots, idempotent)."""
    global _bound_url  # one database per process, chosen by its composition root
    if not database_url:
        raise ValueError("bind() needs a database URL")
    _bound_url = database_url


def bound_url(url: str | None = None) -> str:
    """``url`` if given, else the URL a composition root bound; :class:`DatabaseNotBound` if none."""
    if url:
        return url
    if _bound_url is None:
        raise DatabaseNotBound(
            "no database bound: the process's composition root must call "
            "kernel.db.bind(settings.database_url) (app factories and the CLI do)"
        )
    return _bound_url


def get_engine(url: str | None = None) -> Engine:
    """One pooled engine per database URL per process (``url`` default: the bound one)."""
    url = bound_url(url)
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES.setdefault(url, create_engine(
            url,
            pool_pre_ping=True,  # survive a PostgreSQL restart without failing the first request
            pool_size=10,
            max_overflow=20,
        ))
    return engine


def get_session_factory(url: str | None = None) -> sessionmaker[Session]:
    """Session factory bound to :func:`get_engine` (``url`` default: the bound one)."""
    return _session_factory(get_engine(url))


@lru_cache(maxsize=8)
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (e.g. before dropping a throw-away database)."""
    _session_factory.cache_clear()
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


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


class RequestTransaction(UnitOfWork):
    """One transaction around a whole request; units of work and reads inside it join it.

    Opened by :func:`request_transaction`; the request's entry point decides at the end
    whether to :meth:`commit` (then the collected after-commit callbacks run) or
    :meth:`rollback`. Either closes the session and ends the request scope.
    """

    def __init__(self, session: Session, url: str) -> None:
        super().__init__(session)
        self.url = url
        self._token = _request_tx.set(self)

    def commit(self) -> None:
        """Commit everything the request did, then run the after-commit callbacks."""
        try:
            self.session.commit()
        except BaseException:
            self.rollback()
            raise
        self._end()
        self.run_after_commit()

    def rollback(self) -> None:
        """Undo everything the request did (no after-commit callback runs)."""
        if self._token is None:
            return
        try:
            self.session.rollback()
        finally:
            self._end()

    def _end(self) -> None:
        if self._token is not None:
            _request_tx.reset(self._token)
            self._token = None
            self.session.close()

    @property
    def open(self) -> bool:
        """Whether neither :meth:`commit` nor :meth:`rollback` has ended it yet."""
        return self._token is not None


#: The request transaction of the current request (context-local: one per thread or task).
_request_tx: ContextVar[RequestTransaction | None] = ContextVar("request_tx", default=None)


def request_transaction(url: str | None = None) -> RequestTransaction:
    """Begin the current request's transaction (end it with ``commit()`` or ``rollback()``)."""
    url = bound_url(url)
    return RequestTransaction(get_session_factory(url)(), url)


def _joined(url: str | None) -> RequestTransaction | None:
    """The open request transaction a block for ``url`` joins, if any."""
    outer = _request_tx.get()
    if outer is None or (url and url != outer.url):
        return None
    return outer


class _Savepoint(UnitOfWork):
    """A unit of work inside a request transaction: its own savepoint, the request's callbacks."""

    def __init__(self, outer: RequestTransaction) -> None:
        super().__init__(outer.session)
        self._outer = outer

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the request's transaction has committed."""
        self._outer.after_commit(callback)


@contextmanager
def unit_of_work(url: str | None = None, *, session_factory: Callable[[], Session] | None = None,
                 own_transaction: bool = False) -> Iterator[UnitOfWork]:
    """Open a transaction; commit on success, roll back on error, then run after-commit hooks.

    Inside a request transaction (:func:`request_transaction`) the block is a savepoint of it
    instead: released on success, rolled back on error, committed with the request — unless
    ``own_transaction``: for a write another party must see before the request ends (a row a
    payment provider's callback looks up while the request still waits for the provider).
    ``session_factory`` (default: the one for ``url``) lets a test run this exact protocol over
    a fake session (``tests/support/fakes.py``).
    """
    outer = _joined(url) if session_factory is None and not own_transaction else None
    if outer is not None:
        savepoint = outer.session.begin_nested()
        try:
            yield _Savepoint(outer)
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        return
    session = (session_factory or get_session_factory(url))()
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
    """A session for queries only; it never commits (inside a request transaction: that one)."""
    outer = _joined(url)
    if outer is not None:
        yield outer.session
        return
    session = get_session_factory(url)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
