"""``cinemaabyss users``: roles are granted by operators, and a role change revokes old tokens."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from cinemaabyss.cli import main
from domain_services.users.api import EXTENSION
from domain_services.users.models import User
from kernel.db import read_session
from kernel.tokens import verify_claims


def _role(user_id: int) -> tuple[str, bool]:
    with read_session() as session:
        return session.execute(select(User.role, User.disabled).where(User.id == user_id)).one()


def test_set_role_grants_the_role_to_new_tokens_and_revokes_old_ones(apps, user):
    client = apps["users"].test_client()
    credentials = {"username": user["username"], "password": user["password"]}
    old = client.post("/api/auth/login", json=credentials).json["token"]

    result = CliRunner().invoke(main, ["users", "set-role", user["username"], "editor"])
    assert result.exit_code == 0, result.output
    assert _role(user["id"]) == ("editor", False)
    assert client.get("/api/users/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401

    signer, _ = apps["users"].extensions[EXTENSION]
    new = client.post("/api/auth/login", json=credentials).json["token"]
    assert verify_claims(new, signer.public_pem).role == "editor"


def test_disable_enable_and_errors(user):
    runner = CliRunner()
    assert runner.invoke(main, ["users", "disable", user["username"]]).exit_code == 0
    assert _role(user["id"]) == ("user", True)
    assert runner.invoke(main, ["users", "enable", user["username"]]).exit_code == 0
    assert _role(user["id"]) == ("user", False)
    missing = runner.invoke(main, ["users", "revoke", "no-such-user-here"])
    assert missing.exit_code == 1 and "not found" in missing.output
    assert runner.invoke(main, ["users", "set-role", user["username"], "root"]).exit_code == 2
