"""Payment providers: the adapter interface and the adapter for the sandbox provider.

The payments domain talks to a provider through :class:`PaymentProvider` only: open a
checkout for a pending payment, ask for a refund. The provider answers later, with a
signed callback (``webhooks.py``); nothing here changes a payment's status.

:class:`SandboxProvider` speaks to ``python -m domain_services.payment_sandbox``, a stand-in
for a real provider (Stripe, YooKassa ...). Another provider is another class with the same
two methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import httpx

from kernel.errors import DomainError


class ProviderUnavailable(DomainError):
    """The provider refused or could not be reached; the payment stays pending."""

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
    """The provider's answer: its id for the checkout and where the payer goes to pay."""

    checkout_id: str
    redirect_url: str | None


class PaymentProvider(Protocol):
    """A payment provider as the payments domain uses it."""

    name: str

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """Open a checkout; the outcome arrives later as a signed callback."""
        ...

    def refund(self, request: CheckoutRequest, checkout_id: str) -> None:
        """Ask for the checkout's money back; confirmed later by a ``charge.refunded`` callback."""
        ...


class SandboxProvider:
    """Adapter of the sandbox provider process (HTTP + a bearer API key)."""

    name = "sandbox"

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {api_key}"},
        )

    def _post(self, path: str, payload: dict) -> dict:
        try:
            response = self._client.post(path, json=payload)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"payment provider unreachable: {exc.__class__.__name__}") from None
        if response.status_code >= 300:
            raise ProviderUnavailable(f"payment provider refused the request ({response.status_code})")
        return response.json()

    @staticmethod
    def _body(request: CheckoutRequest) -> dict:
        return {
            "reference": request.reference, "payment_id": request.payment_id, "amount": str(request.amount),
            "currency": request.currency, "description": request.description, "callback_url": request.callback_url,
        }

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        """``POST /v1/checkouts``."""
        answer = self._post("/v1/checkouts", self._body(request))
        return Checkout(checkout_id=str(answer["checkout_id"]), redirect_url=answer.get("redirect_url"))

    def refund(self, request: CheckoutRequest, checkout_id: str) -> None:
        """``POST /v1/refunds``."""
        self._post("/v1/refunds", {**self._body(request), "checkout_id": checkout_id})

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
