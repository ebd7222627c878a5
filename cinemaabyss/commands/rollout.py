"""``cinemaabyss rollout start|pause|resume|abort|status DOMAIN``: rollout plans from a terminal.

Thin adapter over :mod:`strangler.rollouts`; the beat task advances the plan.
"""

from __future__ import annotations

import json

import click

from cinemaabyss.commands.flags import DOMAIN, actor, run
from kernel.settings import get_settings
from strangler import rollouts


def _line(plan: dict | None, domain: str) -> str:
    if plan is None:
        return f"{domain}: no rollout plan"
    steps = " ".join(f"[{s}]" if i == plan["step_index"] else str(s) for i, s in enumerate(plan["steps"]))
    return (f"{plan['domain']}: {plan['state']} at {plan['percent']}%  steps {steps}  hold {plan['hold_seconds']} s"
            f"  last: {plan['last_decision'] or '-'}")


@click.group("rollout")
def rollout_group() -> None:
    """Rollout plans: step a domain to its service while the gates stay green."""


@rollout_group.command("start")
@click.argument("domain", type=DOMAIN)
@click.option("--steps", default="1,5,10,25,50,100", show_default=True, help="percents, comma-separated")
@click.option("--hold", "hold_seconds", default=60, show_default=True, type=click.IntRange(1), help="seconds per step")
@click.option("--max-error-rate", type=float, help="service error-rate gate (default 0.02)")
@click.option("--max-p99-ratio", type=float, help="service p99 / monolith p99 gate (default 2.0)")
@click.option("--max-mismatch-rate", type=float, help="shadow mismatch-rate gate (default 0.01)")
@click.option("--min-requests", type=int, help="service requests a step needs before it is judged (default 50)")
@click.option("--max-p50-ratio", type=float, help="service p50 / monolith p50 gate (default 1.5)")
@click.option("--alpha", type=float, help="significance level of the judge's tests (default 0.05)")
@click.option("--max-inconclusive", "max_inconclusive_s", type=int,
              help="seconds an inconclusive gate may hold a step past its hold time (default 300)")
@click.option("--dry-run", "dry_run", multiple=True,
              help="gate judged and recorded but never acted on: error_rate | latency | mismatch | all (repeatable)")
@click.option("--reason", default="", help="why (goes into the audit row)")
def start_command(domain: str, steps: str, hold_seconds: int, reason: str, **gates) -> None:
    """Start a plan for DOMAIN (moves the flag to the first step now)."""
    chosen = {name: value for name, value in gates.items() if value not in (None, ())}
    if "dry_run" in chosen:
        chosen["dry_run"] = "all" if "all" in chosen["dry_run"] else ",".join(chosen["dry_run"])
    plan = run(rollouts.start, domain, actor(), steps=steps, hold_seconds=hold_seconds, gates=chosen,
                 reason=reason, settings=get_settings())
    click.echo(_line(plan, domain))


def _simple(name: str, func, help_text: str) -> click.Command:
    @click.argument("domain", type=DOMAIN)
    def command(domain: str) -> None:
        click.echo(_line(run(func, domain, actor()), domain))
    command.__doc__ = help_text
    return rollout_group.command(name)(command)


_simple("pause", rollouts.pause, "Stop advancing DOMAIN's plan (the flag stays).")
_simple("resume", rollouts.resume, "Continue DOMAIN's paused plan (the step's hold restarts).")


def _abort(domain: str, actor: str) -> dict:
    """:func:`rollouts.abort` with the CLI's settings (they seed the flag row a rollback may create)."""
    return rollouts.abort(domain, actor, settings=get_settings())


_simple("abort", _abort, "End DOMAIN's plan and send the domain back to the monolith.")


@rollout_group.command("status")
@click.argument("domain", type=DOMAIN)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status_command(domain: str, as_json: bool) -> None:
    """Show DOMAIN's plan, the judge's latest verdicts and the step timeline."""
    plan = run(rollouts.get_plan, domain)
    if as_json:
        click.echo(json.dumps({**plan, "timeline": rollouts.timeline(domain)} if plan else plan, indent=2))
        return
    click.echo(_line(plan, domain))
    if plan is None:
        return
    for verdict in (plan.get("judgement") or {}).get("verdicts", []):
        click.echo(_verdict(verdict))
    for step in rollouts.timeline(domain):
        click.echo(f"  {step['at'][:19]}Z  {step['action']:<12} {step['percent']:>3}%  {step['reason'] or ''}")


def _verdict(v: dict) -> str:
    dry = " (dry-run)" if v["dry_run"] else ""
    return f"    {v['gate']:<10} {v['outcome']:<12} n {v['n_service']}/{v['n_baseline']}{dry}  {v['summary']}"


commands = [rollout_group]
