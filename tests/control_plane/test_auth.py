"""Login, logout, throttling, CSRF and session cookie flags."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from kernel.db import read_session
from kernel.models import FlagAudit
from tests.control_plane.conftest import PASSWORD, csrf_from


def _audit(action: str, actor: str) -> list[FlagAudit]:
    with read_session() as session:
        return list(session.scalars(select(FlagAudit).where(FlagAudit.action == action, FlagAudit.actor == actor)))


def test_login_succeeds_sets_hardened_cookie_and_is_audited(console, operators):
    response = console.login(operators["viewer"])
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert _audit("operator.login", operators["viewer"])


def test_wrong_password_is_401_and_audited(console):
    from control_plane import operators as service

    name = f"wrong-{uuid.uuid4().hex[:8]}"
    service.create_operator(name, "viewer", PASSWORD)
    response = console.login(name, "wrong-password!")
    assert response.status_code == 401
    assert "invalid username or password" in response.get_data(as_text=True)
    assert _audit("operator.login_failed", name)
    assert console.login(name).status_code == 302


def test_successful_login_resets_the_failure_count(console):
    from control_plane import operators as service

    name = f"reset-{uuid.uuid4().hex[:8]}"
    service.create_operator(name, "viewer", PASSWORD)
    for _ in range(4):
        assert console.login(name, "bad-password").status_code == 401
    assert console.login(name).status_code == 302
    console.client.post("/logout", data={"csrf_token": console.token})
    assert [console.login(name, "bad-password").status_code for _ in range(5)] == [401] * 5
    assert console.login(name).status_code == 429


def test_login_is_throttled_after_five_failures(console):
    username = f"nobody-{uuid.uuid4().hex[:8]}"
    statuses = [console.login(username, "bad-password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_post_without_csrf_token_is_rejected(console, operators):
    response = console.client.post("/login", data={"username": operators["admin"], "password": PASSWORD})
    assert response.status_code == 400


def test_htmx_post_without_csrf_header_is_rejected(as_role):
    ops = as_role("ops")
    response = ops.client.post("/strangler/movies/percent", data={"percent": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 400


def test_htmx_post_with_csrf_header_is_accepted(as_role):
    ops = as_role("ops")
    page = ops.get("/strangler").get_data(as_text=True)
    response = ops.client.post("/strangler/users/settings", data={"fallback": "on", "auto_rollback": "on",
                                                                  "reason": "header token"},
                               headers={"HX-Request": "true", "X-CSRFToken": csrf_from(page)})
    assert response.status_code == 200


def test_logout_ends_the_session(as_role):
    viewer = as_role("viewer")
    assert viewer.post("/logout").status_code == 302
    assert viewer.get("/").status_code == 302
