"""``cinemaabyss shadow report|rules|rule-add|rule-remove``: what the shadow compare found, and its rules."""

from __future__ import annotations

import json

import click
import redis

from cinemaabyss.commands.flags import DOMAIN, actor, run
from kernel.settings import get_settings
from strangler import shadow_store
from strangler.shadow_diff import RULE_MODES


def _print_report(data: dict) -> None:
    click.echo(f"shadow {data['domain']}, last {data['minutes']} min: {data['compared']} compared, "
               f"{data['mismatches']} mismatched ({data['mismatch_rate']:.1%}), {data['errors']} errors")
    if data["kinds"]:
        click.echo("by kind: " + ", ".join(f"{kind} {n}" for kind, n in data["kinds"].items()))
    if data["paths"]:
        click.echo(f"{'count':>7}  {'share':>6}  {'kind':<17} {'sample':>7}  path")
        for p in data["paths"]:
            sample = f"#{p['sample']}" if p["sample"] else "-"
            click.echo(f"{p['count']:>7}  {p['share']:>6.1%}  {p['kind']:<17} {sample:>7}  {p['path']}")
    else:
        click.echo("no differing paths")
    noise = data["noise"]
    if noise["pairs"]:
        suggested = ", ".join(f"{r['path']} ({r['mode']})" for r in noise["suggested"]) or "none"
        click.echo(f"A/A calibration: {noise['pairs']} pairs; noise (not counted): {suggested}")
    if data["rules"]:
        click.echo("rules: " + ", ".join(f"{r['path']} ({r['mode']})" for r in data["rules"]))


@click.group("shadow")
def shadow_group() -> None:
    """Shadow compare: mismatch report and ignore rules."""


@shadow_group.command("report")
@click.argument("domain", type=DOMAIN)
@click.option("--minutes", default=60, show_default=True, type=click.IntRange(1, 1440), help="window")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 200), help="paths shown")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def report_command(domain: str, minutes: int, top: int, as_json: bool) -> None:
    """DOMAIN's mismatch rate and the paths that differ most, with their kinds and a sample id."""
    client = redis.Redis.from_url(get_settings().redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        data = run(shadow_store.report, domain, minutes, top, client)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_report(data)


@shadow_group.command("rules")
@click.argument("domain", type=DOMAIN)
def rules_command(domain: str) -> None:
    """DOMAIN's ignore rules."""
    for rule in run(shadow_store.list_rules, domain):
        click.echo(f"{rule.id:>5}  {rule.mode:<17} {rule.path}  {rule.note or ''}")


@shadow_group.command("rule-add")
@click.argument("domain", type=DOMAIN)
@click.argument("path")
@click.option("--mode", type=click.Choice(RULE_MODES), default="ignore", show_default=True)
@click.option("--note", help="why (kept with the rule and in the audit log)")
def rule_add_command(domain: str, path: str, mode: str, note: str | None) -> None:
    """Ignore PATH (e.g. '$[*].created_at') or compare its arrays without order; every gateway applies it."""
    rule = run(shadow_store.save_rule, domain, path, mode, actor(), note)
    click.echo(f"{rule.id:>5}  {rule.mode:<17} {rule.path}")


@shadow_group.command("rule-remove")
@click.argument("domain", type=DOMAIN)
@click.argument("rule_id", type=int)
@click.option("--reason", help="why (kept in the audit log)")
def rule_remove_command(domain: str, rule_id: int, reason: str | None) -> None:
    """Delete rule RULE_ID of DOMAIN."""
    rule = run(shadow_store.remove_rule, domain, rule_id, actor(), reason)
    click.echo(f"removed {rule.path} ({rule.mode})")


commands = [shadow_group]
