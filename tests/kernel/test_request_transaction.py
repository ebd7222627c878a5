"""The request transaction (``kernel.db.request_transaction``): units of work inside it are
savepoints, reads see its writes, after-commit callbacks wait for its commit — real PostgreSQL."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from kernel import db
from kernel.models import RequestKey


def _exists(key: str, url: str) -> bool:
    with db.read_session(url) as session:
        return session.execute(select(RequestKey.key).where(RequestKey.key == key)).first() is not None


def _committed(key: str, url: str) -> bool:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as conn:
        return conn.execute("SELECT count(*) FROM request_keys WHERE key = %s", [key]).fetchone()[0] == 1


def test_units_of_work_inside_commit_with_the_request_and_a_failing_one_only_undoes_itself(db_url):
    db.bind(db_url)
    kept, failed = uuid.uuid4().hex, uuid.uuid4().hex
    ran: list[str] = []
    tx = db.request_transaction(db_url)
    with db.unit_of_work() as uow:
        uow.session.add(RequestKey(key=kept, fingerprint="x"))
        uow.after_commit(lambda: ran.append("kept"))
    try:
        with db.unit_of_work() as uow:
            uow.session.add(RequestKey(key=failed, fingerprint="x"))
            uow.session.flush()
            raise RuntimeError("domain rule broken")
    except RuntimeError:
        pass
    assert _exists(kept, ""), "a read inside the request sees the request's own write"
    assert not _committed(kept, db_url), "nothing is visible outside before the request commits"
    assert ran == [], "after-commit callbacks wait for the request's commit"
    tx.commit()
    assert ran == ["kept"]
    assert _committed(kept, db_url) and not _committed(failed, db_url)


def test_a_rolled_back_request_leaves_nothing_and_runs_no_callback(db_url):
    db.bind(db_url)
    key = uuid.uuid4().hex
    ran: list[str] = []
    tx = db.request_transaction(db_url)
    with db.unit_of_work() as uow:
        uow.session.add(RequestKey(key=key, fingerprint="x"))
        uow.after_commit(lambda: ran.append("x"))
    tx.rollback()
    assert not tx.open and ran == []
    assert not _committed(key, db_url)
    with db.unit_of_work() as uow:  # outside any request again: a transaction of its own
        uow.session.add(RequestKey(key=key, fingerprint="x"))
    assert _committed(key, db_url)
