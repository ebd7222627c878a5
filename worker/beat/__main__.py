"""``python -m worker.beat``: send the outbox sweep and the rollout tick every second, payment
reconciliation every minute (``worker/app.py``).

The in-memory ``celery.beat:Scheduler`` is used on purpose: every entry is a fixed interval,
so there is nothing worth persisting, and no schedule file means several beats (tests,
checkouts) never fight over one; the tasks that must run alone take an advisory lock.
"""

from __future__ import annotations

from kernel.settings import get_settings
from worker.app import configure


def main() -> None:
    """Run beat until terminated."""
    settings = get_settings()
    configure(settings).start(["beat", "--scheduler=celery.beat:Scheduler",
                               f"--loglevel={settings.log_level.upper()}"])


if __name__ == "__main__":
    main()
