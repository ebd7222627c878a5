"""The unit of work: commit only on success, roll back on error, side effects only after commit."""

from __future__ import annotations

import pytest

from kernel import db
from tests.support.fakes import FakeSession, fake_unit_of_work


def test_a_completed_block_commits_then_runs_after_commit_callbacks():
    session, calls = FakeSession(), []
    with fake_unit_of_work(session) as uow:
        uow.after_commit(lambda: calls.append(("nudge", session.committed)))
        assert calls == []  # nothing runs inside the transaction
    assert session.committed and session.closed and not session.rolled_back
    assert calls == [("nudge", True)]  # ran after the commit, never before


def test_an_exception_rolls_back_and_skips_after_commit_callbacks():
    session, calls = FakeSession(), []
    with pytest.raises(ValueError), fake_unit_of_work(session) as uow:
        uow.after_commit(lambda: calls.append("nudge"))
        raise ValueError("rule broken")
    assert session.rolled_back and session.closed and not session.committed
    assert calls == []


def test_a_callback_registered_twice_runs_once():
    calls = []

    def nudge() -> None:
        calls.append(1)

    with fake_unit_of_work() as uow:
        uow.after_commit(nudge)
        uow.after_commit(nudge)
    assert calls == [1]


def test_a_failing_callback_is_logged_and_the_commit_stands(caplog):
    session, calls = FakeSession(), []

    def broken() -> None:
        raise ConnectionError("redis down")

    with fake_unit_of_work(session) as uow:
        uow.after_commit(broken)
        uow.after_commit(lambda: calls.append("second"))
    assert session.committed
    assert calls == ["second"]
    assert "after-commit callback" in caplog.text


def test_sessions_need_a_database_bound_by_a_composition_root(monkeypatch):
    monkeypatch.setattr(db, "_bound_url", None)
    with pytest.raises(db.DatabaseNotBound, match="composition root"):
        db.bound_url()
    assert db.bound_url("postgresql+psycopg://explicit/db") == "postgresql+psycopg://explicit/db"
    db.bind("postgresql+psycopg://root/db")
    assert db.bound_url() == "postgresql+psycopg://root/db"
    with pytest.raises(ValueError):
        db.bind("")


def test_engines_are_created_lazily_once_per_url_and_disposed(monkeypatch):
    monkeypatch.setattr(db, "_ENGINES", {})
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    engine = db.get_engine(url)  # creating an engine connects to nothing
    assert db.get_engine(url) is engine
    assert db.get_session_factory(url) is db.get_session_factory(url)
    db.dispose_engines()
    assert db.get_engine(url) is not engine
