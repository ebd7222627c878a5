"""Payment providers: the adapter interface the payments domain speaks, and the choice of adapter.

The domain talks to a provider through :class:`PaymentProvider` only: open a checkout for a
pending payment, ask for a refund, look a checkout up (reconciliation), and verify a
webhook into a :class:`VerifiedEvent` in the domain's own words (``completed``, ``failed``,
``refunded``). Nothing here changes a payment's status; ``settlement.py`` does.

Adapters: :class:`~domain_services.payments.sandbox_provider.SandboxProvider` (the offline
default) and :class:`~domain_services.payments.stripe_provider.StripeProvider`;
``PAYMENT_PROVIDER`` picks one (``adapters.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from kernel.errors import DomainError

#: What a provider event or lookup can say about a checkout, in the domain's words.
OUTCOMES = ("completed", "failed", "refunded")
#: What a lookup says when the money has not moved yet, or the provider does not know the checkout.
PENDING, UNKNOWN = "pending", "unknown"


class ProviderUnavailable(DomainError):
    """The provider refused or could not be reached; the payment stays as it was."""

    status = 502


@dataclass(frozen=True)
class CheckoutRequest:
    """What a provider needs to take a payment, and where to report the outcome."""

    reference: str
    payment_id: int
    amount: Decimal
    currency: str
    description: str
    callback_url: str


@dataclass(frozen=True)
class Checkout:
    """The provider's answer: its id for the checkout and how the payer goes on to pay."""

    checkout_id: str
    redirect_url: str | None
    client_secret: str | None = None  # Stripe: for Stripe.js to confirm the PaymentIntent


@dataclass(frozen=True)
class VerifiedEvent:
    """A provider webhook whose signature was checked, in the payments domain's words.

    ``outcome`` is one of :data:`OUTCOMES`, or None for an event type the domain does not
    act on. ``reference`` (ours) or ``checkout_id`` (the provider's) finds the checkout.
    """

    event_id: str
    event_type: str
    outcome: str | None
    checkout_id: str | None
    reference: str | None
    payment_id: int | None
    amount: Decimal | None


@dataclass(frozen=True)
class ProviderStatus:
    """A checkout as the provider sees it now: an outcome, :data:`PENDING` or :data:`UNKNOWN`."""

    checkout_id: str
    status: str
    amount: Decimal | None
    detail: str  # the provider's own word for it, shown to operators


class PaymentProvider(Protocol):
    """A payment provider as the payments domain uses it."""

    name: str

    def create_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """Open a checkout; the outcome arrives later as a signed webhook."""
        ...

    def refund(self, request: CheckoutRequest, checkout_id: str, *, idempotency_key: str) -> None:
        """Ask for the checkout's money back (once: the key makes a repeat a no-op at the provider)."""
        ...

    def lookup(self, checkout_id: str) -> ProviderStatus:
        """What the provider says about a checkout now (reconciliation); :class:`ProviderUnavailable` if unreachable."""
        ...

    def verify_event(self, body: bytes, headers: Mapping[str, str], *, now: float) -> VerifiedEvent:
        """Check a webhook's signature and freshness and read it; ``webhooks.WebhookRejected`` otherwise."""
        ...


def checkout_key(payment_id: int) -> str:
    """The idempotency key of a payment's checkout: a retried request never opens a second one."""
    return f"cinemaabyss-checkout-{payment_id}"


def refund_key(payment_id: int) -> str:
    """The idempotency key of a payment's refund: one refund per payment at the provider."""
    return f"cinemaabyss-refund-{payment_id}"


def minor_units(amount: Decimal) -> int:
    """``amount`` in cents (every plan currency has two decimals)."""
    return int((Decimal(amount) * 100).to_integral_value())
