"""Exactly-once writes: a non-idempotent request's key and answer commit with its write.

The gateway gives every ``POST`` and ``PATCH`` an ``Idempotency-Key`` (the client's, scoped to
the caller, or a fresh one). The monolith and every service, sharing one database, then run
such a request inside one request transaction (:func:`kernel.db.request_transaction`):

1. insert the key into ``request_keys`` first. The unique key serialises requests with the
   same key: a second one waits (at most :data:`WAIT_SECONDS`) until the first commits or
   rolls back — also when the first one's process died mid-request, because PostgreSQL rolls
   back a dead connection's transaction;
2. if the key is already there, answer with the stored answer (``Idempotent-Replayed: true``),
   or 422 when the key came with a different request; nothing runs twice;
3. otherwise run the handler; every unit of work inside joins the request transaction;
4. an answer below 500 is stored under the key and committed *with the write*; a 5xx or an
   exception rolls back both, so the key is free again and a replay is safe.

So when a service dies after its commit but before its answer reached the gateway, the
gateway sends the request to the monolith with the same key and gets the committed answer;
when it died before the commit, the monolith performs the write, once.

Answers of sign-in, sign-up and token refresh (:func:`kernel.request_keys.never_kept`) carry credentials: they
are never stored or replayed (a replay would hand out a spent token pair).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, Response, g, request
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kernel import db
from kernel.http import error_response
from kernel.models import RequestKey
from kernel.request_keys import INVALID_KEY, KEY_HEADER, REPLAYED_HEADER, applies, fingerprint, valid_key

log = logging.getLogger(__name__)

#: How long keys and answers are kept (the purge deletes older ones).
KEEP_SECONDS = 86_400
#: How long a request waits for another one holding the same key before answering 409.
WAIT_SECONDS = 5
#: PostgreSQL's "lock_not_available": the wait above ran out.
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True, slots=True)
class Answer:
    """A stored answer."""

    status: int
    content_type: str | None
    location: str | None
    body: bytes

    def response(self) -> Response:
        """The answer again, marked as a replay."""
        response = Response(self.body, status=self.status, content_type=self.content_type)
        if self.location:
            response.headers["Location"] = self.location
        response.headers[REPLAYED_HEADER[0]] = REPLAYED_HEADER[1]
        return response


@dataclass(frozen=True, slots=True)
class Claim:
    """What :func:`claim` found: exactly one field is set."""

    claimed: bool = False  # the key is ours: run the request
    answer: Answer | None = None  # done before: answer with this
    mismatch: bool = False  # the key belongs to a different request
    busy: bool = False  # another request holds the key and did not finish in time


def claim(session: Session, key: str, fp: str, wait_seconds: float = WAIT_SECONDS) -> Claim:
    """Insert ``key`` in the session's transaction, or say what an earlier request left there."""
    session.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{int(wait_seconds * 1000)}ms"})
    try:
        inserted = session.execute(
            insert(RequestKey).values(key=key, fingerprint=fp).on_conflict_do_nothing(index_elements=["key"])
            .returning(RequestKey.key)).first()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            return Claim(busy=True)
        raise
    session.execute(text("SELECT set_config('lock_timeout', '0', true)"))
    if inserted is not None:
        return Claim(claimed=True)
    row = session.execute(select(RequestKey).where(RequestKey.key == key)).scalar_one()
    if row.fingerprint != fp:
        return Claim(mismatch=True)
    return Claim(answer=Answer(row.status or 500, row.content_type, row.location, row.body or b""))


def complete(session: Session, key: str, answer: Answer) -> None:
    """Store ``answer`` under the claimed ``key`` (committed with the request's write)."""
    session.execute(RequestKey.__table__.update().where(RequestKey.key == key).values(
        status=answer.status, content_type=answer.content_type, location=answer.location, body=answer.body))


def purge(older_than_seconds: int = KEEP_SECONDS, url: str | None = None, batch: int = 10_000,
          max_batches: int = 100) -> int:
    """Delete keys older than ``older_than_seconds`` in batches (short transactions, no long
    lock on a busy table); returns how many."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    old = select(RequestKey.key).where(RequestKey.created_at < cutoff).limit(batch).scalar_subquery()
    deleted = 0
    for _ in range(max_batches):
        with db.unit_of_work(url) as uow:
            count = uow.session.execute(delete(RequestKey).where(RequestKey.key.in_(old))).rowcount
        deleted += count
        if count < batch:
            break
    return deleted


def _begin() -> tuple[Response, int] | Response | None:
    """``before_request``: claim the request's key, or answer from what an earlier one left."""
    key = request.headers.get(KEY_HEADER)
    if key is None or not applies(request.method, request.path):
        return None
    if not valid_key(key):
        return error_response(INVALID_KEY, 400)
    target = request.full_path if request.query_string else request.path
    fp = fingerprint(request.method, target, request.get_data(cache=True))
    tx = db.request_transaction()
    try:
        found = claim(tx.session, key, fp, WAIT_SECONDS)
    except BaseException:
        tx.rollback()
        raise
    if not found.claimed:
        tx.rollback()
        if found.mismatch:
            return error_response(f"{KEY_HEADER} reused for a different request", 422)
        if found.busy:
            return error_response(f"a request with this {KEY_HEADER} is still in progress", 409)
        return found.answer.response()
    g.request_key = (tx, key)
    return None


def _finish(response: Response) -> Response:
    """``after_request``: keep an answer below 500 with the write, or undo both."""
    held = g.pop("request_key", None)
    if held is None:
        return response
    tx, key = held
    if response.status_code >= 500 or response.is_streamed:
        tx.rollback()
        return response
    answer = Answer(response.status_code, response.content_type, response.headers.get("Location"),
                    response.get_data())
    try:
        complete(tx.session, key, answer)
        tx.commit()
    except Exception:
        log.exception("could not commit %s %s with its %s", request.method, request.path, KEY_HEADER)
        tx.rollback()
        response, status = error_response("database unavailable, try again shortly", 503)
        response.status_code = status
    return response


def _abandon(exc: BaseException | None) -> None:
    """``teardown_request``: a request that never reached ``after_request`` undoes its work."""
    held = g.pop("request_key", None)
    if held is not None:
        held[0].rollback()


def install(app: Flask) -> None:
    """Run every keyed request of ``app`` exactly once (hooks around each request)."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_abandon)
