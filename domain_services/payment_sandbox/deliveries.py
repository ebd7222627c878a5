"""Callback delivery as a real provider does it: signed per attempt, retried on any non-2xx with back-off.

A callback answered 2xx is delivered; anything else — a 4xx (a gateway's 429 too), a 5xx,
no answer — is tried again after the next delay of the schedule (``PAYMENT_SANDBOX_RETRY_DELAYS``,
about eight hours by default), then given up and left to the receiver's reconciliation.

The schedule lives in this process (a heap and one timer thread; the posts run on a small
pool): a restarted sandbox forgets the callbacks it still owed, as it forgets its checkouts.
That is the sandbox's documented limit; reconciliation settles such payments.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from domain_services.payments.webhooks import SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)

POST_TIMEOUT_S = 10.0


def parse_delays(value: str) -> tuple[float, ...]:
    """``"1,5,30"`` → ``(1.0, 5.0, 30.0)``; ``ValueError`` for anything but non-negative numbers."""
    delays = tuple(float(part) for part in value.split(",") if part.strip())
    if any(d < 0 or d != d for d in delays):
        raise ValueError(f"retry delays must be non-negative seconds: {value!r}")
    return delays


@dataclass
class Delivery:
    """One callback and what happened to it so far (read by the status lookup)."""

    url: str
    event: dict[str, Any]
    attempts: int = 0
    last_status: int | None = None
    delivered: bool = False
    given_up: bool = False
    history: list[tuple[float, int | None]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The delivery as the lookup endpoint shows it."""
        return {"event_id": self.event["id"], "type": self.event["type"], "attempts": self.attempts,
                "last_status": self.last_status, "delivered": self.delivered, "given_up": self.given_up}


class Deliverer:
    """Posts callbacks signed with ``secret`` and retries them on the ``delays`` schedule."""

    def __init__(self, secret: str, delays: tuple[float, ...], *, first_delay: float = 0.05, workers: int = 8) -> None:
        self._secret, self._delays, self._first_delay = secret, delays, first_delay
        self._heap: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callback")
        self._timer: threading.Thread | None = None

    def send(self, url: str, event: dict[str, Any]) -> Delivery:
        """Schedule ``event`` for ``url`` (first attempt after a moment, as a provider charges first)."""
        delivery = Delivery(url, event)
        self._schedule(delivery, self._first_delay)
        return delivery

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        with self._wake:
            if self._timer is None:  # started on first use: a forked server worker gets its own
                self._timer = threading.Thread(target=self._run, name="callback-timer", daemon=True)
                self._timer.start()
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), delivery))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _, _, delivery = heapq.heappop(self._heap)
            self._pool.submit(self._attempt, delivery)

    def _attempt(self, delivery: Delivery) -> None:
        body = json.dumps(delivery.event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: signature_header(self._secret, body, int(time.time()))}  # signed per attempt
        delivery.attempts += 1
        try:
            status = httpx.post(delivery.url, content=body, headers=headers, timeout=POST_TIMEOUT_S).status_code
        except httpx.HTTPError as exc:
            log.warning("callback %s to %s: attempt %d failed: %s", delivery.event["id"], delivery.url,
                        delivery.attempts, exc.__class__.__name__)
            status = None
        delivery.last_status = status
        delivery.history.append((time.time(), status))
        if status is not None and 200 <= status < 300:
            delivery.delivered = True
            log.info("callback %s (%s) delivered after %d attempt(s)", delivery.event["id"], delivery.event["type"],
                     delivery.attempts)
            return
        if delivery.attempts > len(self._delays):
            delivery.given_up = True
            log.error("callback %s to %s given up after %d attempts (last status %s)", delivery.event["id"],
                      delivery.url, delivery.attempts, status)
            return
        delay = self._delays[delivery.attempts - 1]
        log.warning("callback %s answered %s; retry %d in %.0f s", delivery.event["id"], status, delivery.attempts,
                    delay)
        self._schedule(delivery, delay)
