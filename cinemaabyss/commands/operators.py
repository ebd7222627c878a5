"""``cinemaabyss create-operator`` and ``cinemaabyss ensure-admin``: console accounts from the shell."""

from __future__ import annotations

import sys

import click

from control_plane.models import OPERATOR_ROLES
from kernel.errors import DomainError
from kernel.settings import get_settings


@click.command("create-operator")
@click.argument("username")
@click.option("--role", type=click.Choice(OPERATOR_ROLES), required=True, help="the account's role")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (else one is generated)")
def create_operator_command(username: str, role: str, password_stdin: bool) -> None:
    """Create a console account; a generated password is printed once."""
    from control_plane import operators

    password = sys.stdin.readline().rstrip("\n") if password_stdin else operators.generate_password()
    try:
        operators.create_operator(username, role, password, actor="cli")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    if password_stdin:
        click.echo(f"created operator {username} ({role})")
    else:
        click.echo(f"created operator {username} ({role}); password (shown once): {password}")


@click.command("ensure-admin")
def ensure_admin_command() -> None:
    """Create the first admin from CONSOLE_ADMIN_USER / CONSOLE_ADMIN_PASSWORD unless it exists.

    With no password configured one is generated and printed once; later runs only report
    that the account exists.
    """
    from control_plane import operators

    settings = get_settings()
    username = settings.console_admin_user
    if operators.find_by_username(username) is not None:
        click.echo(f"console admin {username} exists")
        return
    password = settings.console_admin_password or operators.generate_password()
    try:
        operators.create_operator(username, "admin", password, actor="ensure-admin")
    except DomainError as exc:
        if operators.find_by_username(username) is not None:  # created concurrently
            click.echo(f"console admin {username} exists")
            return
        raise click.ClickException(exc.message) from None
    if settings.console_admin_password:
        click.echo(f"console admin: {username} (password from CONSOLE_ADMIN_PASSWORD)")
    else:
        click.echo(f"console admin: {username} / {password}")


commands = [create_operator_command, ensure_admin_command]
