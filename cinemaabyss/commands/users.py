"""``cinemaabyss users ...``: end-user roles, disabling and token revocation from the shell.

Roles are never chosen by a client: an operator grants them here (or an admin through
``PATCH /api/users/{id}``). A role change revokes the user's tokens, so the new role (a
demotion above all) holds from the next login.
"""

from __future__ import annotations

import click

from kernel.db import unit_of_work
from kernel.errors import DomainError
from kernel.tokens import ROLES


@click.group("users")
def users_group() -> None:
    """End-user accounts: roles, disable/enable, revoke tokens."""


def _apply(username: str, change: dict) -> dict:
    from domain_services.users import services

    try:
        return services.update_user(services.id_of(username), change)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def set_role_command(username: str, role: str) -> None:
    """Give USERNAME the ROLE its tokens carry (user, editor, admin, service)."""
    _apply(username, {"role": role})
    click.echo(f"{username}: role {role}; their tokens were revoked, the role holds from their next login")


@users_group.command("disable")
@click.argument("username")
def disable_command(username: str) -> None:
    """Disable USERNAME: no login or refresh, and every token is revoked now."""
    _apply(username, {"disabled": True})
    click.echo(f"{username}: disabled, tokens revoked")


@users_group.command("enable")
@click.argument("username")
def enable_command(username: str) -> None:
    """Let a disabled USERNAME log in again."""
    _apply(username, {"disabled": False})
    click.echo(f"{username}: enabled")


@users_group.command("revoke")
@click.argument("username")
def revoke_command(username: str) -> None:
    """Refuse every token USERNAME holds now (they log in again)."""
    from domain_services.users import services, sessions

    try:
        user_id = services.id_of(username)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    with unit_of_work() as uow:
        sessions.revoke_user_tokens(uow.session, user_id, "revoked by operator")
    click.echo(f"{username}: tokens revoked")


commands = [users_group]
