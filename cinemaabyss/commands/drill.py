"""``cinemaabyss drill DOMAIN``: the cut-over drill against the running local stack.

Drives read and write load through the gateway, steps the flag, SIGKILLs the domain
service's process group (found through the stack's pid file), restarts it and prints the
report (:mod:`cinemaabyss.drill`). Run it with ``make up`` running; it changes the domain's
flag (audited, actor ``drill``) and leaves the domain on its service.
"""

from __future__ import annotations

import contextlib
import os
import signal

import click
from sqlalchemy.engine import make_url

from cinemaabyss.drill import WORKLOADS, DrillTarget, run_drill
from cinemaabyss.stack.apps import AppRunner
from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.paths import StackPaths
from cinemaabyss.stack.processes import PROCESSES
from kernel.settings import get_settings
from kernel.tokens import issue_token, key_paths

DRILL_USER_ID = 1


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as the plain libpq URL psycopg takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _target(domain: str) -> DrillTarget:
    settings = get_settings()
    runner = AppRunner(StackPaths.from_settings(settings), settings)
    process = next(p for p in PROCESSES if p.name == domain)
    pid_file = runner.pid_file(process)
    if pid_file.live_pid() is None or not runner.healthy(process):
        raise click.ClickException(f"the {domain} service is not running; start the stack with `make up`")

    def kill() -> None:
        pid = pid_file.live_pid()
        if pid is None:
            raise click.ClickException(f"the {domain} service is not running")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # the whole group: the master and every worker at once

    def restart() -> None:
        try:
            runner.start(process)
        except StackError as exc:
            raise click.ClickException(f"restart failed: {exc}") from None

    private_path, _ = key_paths(settings)
    try:
        private_pem = private_path.read_text()
    except OSError as exc:
        raise click.ClickException(f"cannot read the JWT signing key {private_path}: {exc}") from None
    token = issue_token(DRILL_USER_ID, private_pem, 3600, role="editor")
    return DrillTarget(domain=domain, proxy_url=settings.proxy_url.rstrip("/"),
                       database_url=_libpq(settings.database_url), kill=kill, restart=restart, token=token)


@click.command("drill")
@click.argument("domain", type=click.Choice(sorted(WORKLOADS)))
@click.option("--steps", default="10,50,100", show_default=True, help="flag percents before the kill")
@click.option("--step-seconds", default=5.0, show_default=True, help="time at each step")
@click.option("--read-rate", default=180.0, show_default=True, help="reads per second")
@click.option("--write-rate", default=10.0, show_default=True, help="writes per second")
@click.option("--client-retries", default=0, show_default=True, type=click.IntRange(0, 10),
              help="0: writers send no Idempotency-Key and never retry; N: their own key, N retries")
@click.option("--writers", default=4, show_default=True, type=click.IntRange(1, 64),
              help="concurrent writers sharing the write rate")
def drill_command(domain: str, steps: str, step_seconds: float, read_rate: float, write_rate: float,
                  client_retries: int, writers: int) -> None:
    """Rehearse DOMAIN's cut-over: load, steps, SIGKILL of its service, rollback, restart, report."""
    try:
        parsed = tuple(int(s) for s in steps.split(","))
    except ValueError:
        raise click.BadParameter("steps must be integers, e.g. 10,50,100") from None
    if not parsed or parsed[-1] != 100 or any(not 1 <= s <= 100 for s in parsed):
        raise click.BadParameter("steps must be percents in 1..100 ending at 100")
    run_drill(_target(domain), steps=parsed, step_seconds=step_seconds, read_rate=read_rate,
              write_rate=write_rate, client_retries=client_retries, writers=writers, say=click.echo)


commands = [drill_command]
