"""``cinemaabyss config``: print every setting with its env name, default and effective value."""

from __future__ import annotations

import click

from kernel.settings import describe, get_settings


@click.command("config")
@click.option("--markdown", is_flag=True, help="print a Markdown table (used for the README)")
def config_command(markdown: bool) -> None:
    """Show configuration: environment variable, default, description."""
    rows = describe()
    if markdown:
        click.echo("| variable | default | meaning |\n|---|---|---|")
        for env, default, doc in rows:
            click.echo(f"| `{env}` | `{default}` | {doc} |")
        return
    settings = get_settings()
    by_env = {f.metadata["env"]: getattr(settings, f.name) for f in settings.__dataclass_fields__.values()}
    for env, _default, doc in rows:
        click.echo(f"{env}={by_env[env]}    # {doc}")


commands = [config_command]
