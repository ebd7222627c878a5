"""A rollout card right after a change, in headless Chromium: the observed share counts the new step only."""

from __future__ import annotations

import re
import time

import redis

from strangler import flags
from strangler.traffic_history import epoch
from tests.control_plane.test_browser import SHOTS, browser, console_url, login, shot  # noqa: F401 (fixtures)


def test_card_labels_the_observed_share_since_the_change(login, console_url, redis_url):  # noqa: F811 (fixtures)
    client = redis.Redis.from_url(redis_url)
    flags.set_flag("users", {"mode": "gradual", "percent": 50}, "tests", "10 → 50 in the browser")
    changed = epoch(flags.get_flag("users")["updated_at"])
    for second in range(int(changed) - 30, int(changed) + 30):  # 10 % before the change, 50 % after it
        share = 50 if second > int(changed) else 10
        client.hset(f"traffic:{second}", mapping={"users:service:ok": share, "users:monolith:ok": 100 - share})
        client.expire(f"traffic:{second}", 120)
    page = login("ops")
    page.goto(f"{console_url}/strangler")
    at = time.strftime("%H:%M:%S", time.gmtime(changed))
    label = page.get_by_test_id("observed-label-users")
    # the live part polls every 5 s; the share appears once a whole second has passed since the change
    page.wait_for_function("() => document.querySelector('[data-testid=observed-users]').textContent === '50%'",
                           timeout=15_000)
    assert re.fullmatch(rf"Observed since {at} UTC \(\d+ s\)", label.inner_text()), label.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#live-users").screenshot(path=str(SHOTS / "24-observed-since-change-card.png"))
    shot(page, "24-strangler-observed-since-change")
