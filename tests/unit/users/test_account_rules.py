"""The users domain's account rules, run with a fake unit of work passed in (no database).

The service functions take the unit-of-work factory they run in; here it opens the real
:func:`kernel.db.unit_of_work` protocol over an in-memory users table, so each rule (who may
change what, what is revoked, which event is written, what commits) is checked in
milliseconds. The same functions run over PostgreSQL in tests/domain_services.
"""

from __future__ import annotations

import pytest

from domain_services.users import services
from domain_services.users.models import User
from kernel.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from kernel.identity import ANONYMOUS_IDENTITY, SYSTEM, Identity
from tests.unit.users.fake_uow import FakeUsersSession, fake_uow_factory

ADMIN = Identity(99, "admin")


def _table(*users: User) -> tuple[FakeUsersSession, services.UnitOfWorkFactory]:
    session = FakeUsersSession(list(users))
    return session, fake_uow_factory(session)


def _alice() -> User:
    return User(id=1, username="alice", email="alice@example.com", role="user", disabled=False)


def test_creating_a_user_commits_the_row_and_its_created_event_together():
    session, uow = _table()
    created = services.create_user({"username": "bob", "email": "Bob@Example.com"}, uow=uow)
    assert created == {"id": 1, "username": "bob", "email": "bob@example.com"}  # e-mail stored lower-cased
    assert session.committed and session.rows[1].username == "bob"
    [event] = session.events
    assert (event.event_type, event.key) == ("user.created", "1")
    assert event.payload["payload"] == {"user_id": 1, "username": "bob", "email": "bob@example.com"}


def test_registration_names_its_own_event():
    session, uow = _table()
    services.create_user({"username": "carol", "email": "c@example.com"}, password_hash="h", event="user.registered",
                         uow=uow)
    assert [e.event_type for e in session.events] == ["user.registered"]
    assert session.rows[1].password_hash == "h"


@pytest.mark.parametrize("data", [{"username": "x", "email": "x@example.com"},  # too short
                                  {"username": "bad name", "email": "x@example.com"},
                                  {"username": "dave", "email": "not-an-address"},
                                  ["not", "an", "object"]])
def test_invalid_input_is_refused_before_any_unit_of_work_opens(data):
    session, uow = _table()
    with pytest.raises(InvalidInput):
        services.create_user(data, uow=uow)
    assert session.added == [] and not session.committed


def test_a_role_change_revokes_the_users_tokens_in_the_same_transaction():
    session, uow = _table(_alice())
    services.update_user(1, {"role": "editor"}, actor=ADMIN, uow=uow)
    assert session.rows[1].role == "editor"
    assert session.revoked == [(1, "role changed")] and session.committed
    assert [e.event_type for e in session.events] == ["user.updated"]


def test_setting_the_same_role_revokes_nothing():
    session, uow = _table(_alice())
    services.update_user(1, {"role": "user"}, actor=ADMIN, uow=uow)
    assert session.revoked == []


def test_disabling_a_user_revokes_their_tokens_and_enabling_does_not():
    session, uow = _table(_alice())
    services.update_user(1, {"disabled": True}, actor=ADMIN, uow=uow)
    services.update_user(1, {"disabled": False}, actor=ADMIN, uow=uow)
    assert session.revoked == [(1, "user disabled")] and session.rows[1].disabled is False


def test_a_user_may_change_their_own_name_but_not_their_role():
    session, uow = _table(_alice())
    alice = Identity(1, "user")
    assert services.update_user(1, {"username": "alice2"}, actor=alice, uow=uow)["username"] == "alice2"
    with pytest.raises(Forbidden, match="only an admin"):
        services.update_user(1, {"role": "admin"}, actor=alice, uow=uow)
    assert session.rows[1].role == "user" and len(session.events) == 1


@pytest.mark.parametrize(("actor", "error"), [(Identity(2, "user"), Forbidden), (ANONYMOUS_IDENTITY, Unauthorized)])
def test_nobody_else_may_change_or_delete_a_user(actor, error):
    session, uow = _table(_alice())
    with pytest.raises(error):
        services.update_user(1, {"username": "mallory"}, actor=actor, uow=uow)
    with pytest.raises(error):
        services.delete_user(1, actor=actor, uow=uow)
    assert session.rows[1].username == "alice" and session.added == [] and session.removed == []


def test_changing_a_missing_user_is_not_found_and_rolls_back():
    session, uow = _table()
    with pytest.raises(NotFound):
        services.update_user(5, {"username": "ghost"}, actor=SYSTEM, uow=uow)
    assert session.rolled_back and not session.committed and session.events == []


def test_deleting_a_user_revokes_their_tokens_and_writes_the_deleted_event():
    session, uow = _table(_alice())
    services.delete_user(1, actor=Identity(1, "user"), uow=uow)
    assert 1 not in session.rows and session.revoked == [(1, "user deleted")]
    assert [(e.event_type, e.payload["payload"]) for e in session.events] == [("user.deleted", {"user_id": 1})]
    assert session.committed


def test_the_http_entry_point_runs_the_rules_in_the_unit_of_work_its_app_was_composed_with(tmp_path):
    from domain_services.users import api
    from domain_services.users.app import create_app
    from kernel.db import unit_of_work
    from kernel.settings import load_settings

    app = create_app(load_settings({"RUN_DIR": str(tmp_path), "IDENTITY_UNSIGNED_ALLOWED": "true"}))
    assert app.extensions[api.UOW_EXTENSION] is unit_of_work  # the real one unless the root chose another
    session, uow = _table()
    app.extensions[api.UOW_EXTENSION] = uow
    response = app.test_client().post("/api/users", json={"username": "erin", "email": "erin@example.com"},
                                      headers={"X-User-Id": "99", "X-User-Role": "admin"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["username"] == "erin" and session.rows[1].email == "erin@example.com"
