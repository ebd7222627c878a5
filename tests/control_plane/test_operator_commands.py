"""``cinemaabyss create-operator`` and ``ensure-admin``."""

from __future__ import annotations

import re
import uuid

from click.testing import CliRunner

from cinemaabyss.commands import operators as commands
from control_plane import operators
from kernel.settings import load_settings


def test_create_operator_generates_and_prints_password(db_url):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(commands.create_operator_command, [name, "--role", "ops"])
    assert result.exit_code == 0, result.output
    password = re.search(r"password \(shown once\): (\S+)", result.output).group(1)
    assert operators.authenticate(name, password, "127.0.0.1").role == "ops"


def test_create_operator_reads_password_from_stdin(db_url):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(commands.create_operator_command, [name, "--role", "viewer", "--password-stdin"],
                                input="stdin-password-123\n")
    assert result.exit_code == 0 and "stdin-password" not in result.output
    assert operators.authenticate(name, "stdin-password-123", "127.0.0.1").role == "viewer"


def test_create_operator_rejects_duplicate(db_url):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    runner.invoke(commands.create_operator_command, [name, "--role", "ops"])
    result = runner.invoke(commands.create_operator_command, [name, "--role", "ops"])
    assert result.exit_code != 0 and "already exists" in result.output


def test_ensure_admin_prints_generated_password_once(db_url, monkeypatch):
    name = f"admin-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(commands, "get_settings", lambda: load_settings(console_admin_user=name,
                                                                        console_admin_password=""))
    first = CliRunner().invoke(commands.ensure_admin_command)
    password = re.search(rf"console admin: {name} / (\S+)", first.output).group(1)
    assert operators.authenticate(name, password, "127.0.0.1").role == "admin"
    second = CliRunner().invoke(commands.ensure_admin_command)
    assert second.exit_code == 0 and "exists" in second.output and password not in second.output
