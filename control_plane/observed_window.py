"""Which seconds a rollout card's observed share covers, and how the card says so.

The card shows the share of the domain's requests the service really answered. Over a fixed
60 s it mixed the previous step in right after a change (12 % six seconds after 10 → 50 %).
So while the flag's last change is less than a minute old the share counts only the whole
seconds after it, and the label names the change's time and how many seconds that is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

LIVE_S = 60


@dataclass(frozen=True)
class ObservedWindow:
    """The seconds the observed share and traffic table cover, and their labels."""

    seconds: int
    label: str  # "Observed (60 s)" or "Observed since 12:03:04 UTC (14 s)"
    table_label: str  # the traffic table's heading: "last 60 s" or "since 12:03:04 UTC"


def observed_window(changed_at: float | None, now: float, live_s: int = LIVE_S) -> ObservedWindow:
    """The window for a flag last changed at ``changed_at`` (epoch seconds; None: never) at ``now``.

    The gateways count whole seconds and the newest complete one is ``int(now) - 1``; the
    second holding the change mixes both steps, so the window starts after it. Until one whole
    second has passed the window is empty (0 s): no share is better than the previous step's.
    """
    if changed_at is not None:
        after = int(now) - 1 - int(changed_at)
        if after < live_s:
            seconds = max(0, after)
            at = time.strftime("%H:%M:%S", time.gmtime(changed_at))
            return ObservedWindow(seconds, f"Observed since {at} UTC ({seconds} s)", f"since {at} UTC")
    return ObservedWindow(live_s, f"Observed ({live_s} s)", f"last {live_s} s")
