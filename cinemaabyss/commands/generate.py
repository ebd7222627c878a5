"""``cinemaabyss generate``: write the registry-derived regions of compose, Helm, Dockerfile and docs."""

from __future__ import annotations

import click

from cinemaabyss import generated


@click.command("generate")
@click.option("--check", is_flag=True, help="write nothing; exit 1 if a generated region is out of date")
def generate_command(check: bool) -> None:
    """Regenerate the regions of files that cannot read the domain registry (kernel/registry.py)."""
    try:
        changed = generated.stale()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for path, text in changed.items():
        if not check:
            (generated.ROOT / path).write_text(text)
        click.echo(f"{'out of date' if check else 'wrote'}: {path}")
    if check and changed:
        raise click.ClickException("generated regions are out of date: run `cinemaabyss generate`")
    if not changed:
        click.echo("generated regions are up to date")


commands = [generate_command]
