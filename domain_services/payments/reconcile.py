"""Reconciliation: ask the provider about payments its webhooks have not settled, and settle them.

A webhook can be lost for good — the receiver answered 429 or 5xx until the provider gave
up, the provider's retries were cut short by a restart. Every run (a beat task, once a
minute) takes the payments

* ``pending`` whose checkout was opened longer than ``PAYMENT_RECONCILE_AFTER_SECONDS`` ago, and
* ``completed`` whose refund was requested longer ago than that,

looks each one up at its provider and, when the provider has an outcome, settles it through
the same :func:`~domain_services.payments.settlement.settle` the webhook uses (so the audit
row, the payment event and a refund's take-back are the same). The synthetic event id
``reconcile:<checkout id>:<outcome>`` is claimed once like a webhook's; a webhook arriving
later finds the payment settled and changes nothing.

One runner at a time: a run holds a PostgreSQL advisory lock for its transaction; a second
run that cannot take it returns at once. A provider that cannot be reached ends the pass.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, select, text

from domain_services.payments.models import Payment, PaymentCheckout
from domain_services.payments.provider import (
    OUTCOMES,
    PaymentProvider,
    ProviderStatus,
    ProviderUnavailable,
    VerifiedEvent,
)
from domain_services.payments.settlement import settle
from domain_services.payments.webhooks import WebhookRejected
from kernel.db import get_engine, read_session
from kernel.envelope import utcnow

log = logging.getLogger(__name__)

#: ``pg_try_advisory_xact_lock`` key of the reconciler ("reconcil" in ASCII).
LOCK_ID = 0x7265636F6E63696C
ACTOR = "reconciler"
DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class Unsettled:
    """A payment waiting for its provider: a payment outcome (``pending``) or a refund (``completed``)."""

    payment_id: int
    user_id: int
    amount: Decimal
    status: str
    plan_type: str | None
    provider: str
    reference: str
    checkout_id: str | None
    since: datetime

    @property
    def waiting_for(self) -> str:
        """``payment`` or ``refund``."""
        return "payment" if self.status == "pending" else "refund"


def unsettled(*, older_than: timedelta = timedelta(0), limit: int = DEFAULT_LIMIT,
              now: datetime | None = None) -> list[Unsettled]:
    """Payments checked out (or refund-requested) at least ``older_than`` ago and not settled, oldest first."""
    cutoff = (now or utcnow()) - older_than
    query = (
        select(Payment, PaymentCheckout)
        .join(PaymentCheckout, PaymentCheckout.payment_id == Payment.id)
        .where(or_(and_(Payment.status == "pending", PaymentCheckout.created_at <= cutoff),
                   and_(Payment.status == "completed", PaymentCheckout.refund_requested_at <= cutoff)))
        .order_by(PaymentCheckout.created_at, Payment.id)
        .limit(limit)
    )
    with read_session() as session:
        return [
            Unsettled(p.id, p.user_id, Decimal(p.amount), p.status, p.plan_type, c.provider, c.reference,
                      c.provider_checkout_id, c.refund_requested_at if p.status == "completed" else c.created_at)
            for p, c in session.execute(query).all()
        ]


def outcomes_to_apply(item: Unsettled, seen: ProviderStatus) -> list[str]:
    """What to settle for ``item`` given the provider's answer (in order); empty while it has no outcome."""
    if seen.status not in OUTCOMES:
        return []
    if item.status == "pending":
        # a payment refunded before we ever heard it completed: both steps, as the webhooks would have
        return ["completed", "refunded"] if seen.status == "refunded" else [seen.status]
    return ["refunded"] if seen.status == "refunded" else []


def reconcile_one(provider: PaymentProvider, item: Unsettled) -> str:
    """Look ``item`` up and settle it; returns what happened (its final status, or why nothing)."""
    if item.checkout_id is None:
        return "no-provider-id"  # the checkout call never returned; nothing to ask about
    seen = provider.lookup(item.checkout_id)
    outcomes = outcomes_to_apply(item, seen)
    if not outcomes:
        return f"provider-{seen.status}"
    result = {"status": item.status}
    for outcome in outcomes:
        event = VerifiedEvent(f"reconcile:{item.checkout_id}:{outcome}", f"reconciliation.{outcome}", outcome,
                              item.checkout_id, item.reference, item.payment_id,
                              seen.amount if outcome == "completed" else None)
        try:
            result = settle(event, provider=item.provider, actor=ACTOR)
        except WebhookRejected as exc:  # settled meanwhile (a late webhook, another run)
            return f"skipped: {exc.message}"
    return str(result["status"])


def run(provider: PaymentProvider, *, older_than: timedelta, limit: int = DEFAULT_LIMIT,
        url: str | None = None) -> dict[str, int]:
    """One reconciliation pass; ``{outcome: count}``. Returns ``{}`` while another pass runs."""
    done: Counter[str] = Counter()
    with get_engine(url).begin() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_ID}).scalar():
            return {}
        for item in unsettled(older_than=older_than, limit=limit):
            if item.provider != provider.name:
                done["other-provider"] += 1  # opened under another PAYMENT_PROVIDER; its adapter must settle it
                continue
            try:
                outcome = reconcile_one(provider, item)
            except ProviderUnavailable as exc:
                # the next pass tries again; asking about the rest now would only wait on more timeouts
                log.warning("reconciliation stopped at payment %s: %s", item.payment_id, exc)
                done["unreachable"] += 1
                break
            if outcome in OUTCOMES:
                log.info("reconciliation: payment %s settled %s from the provider's status", item.payment_id, outcome)
            done[outcome] += 1
    return dict(done)
