"""Subscription plans and their prices: the one place a plan's price is written down.

A payment for a plan must be for exactly the plan's price, and only such a payment, once
completed, extends a subscription (``reactions.py``). Prices are per 30-day period.
"""

from __future__ import annotations

from decimal import Decimal

from kernel.errors import InvalidInput

CURRENCY = "USD"
PLAN_PRICES: dict[str, Decimal] = {
    "basic": Decimal("9.99"),
    "premium": Decimal("19.99"),
    "family": Decimal("29.99"),
}
PLAN_TYPES = tuple(PLAN_PRICES)


def price_of(plan: str) -> Decimal:
    """The price of ``plan``; ``KeyError`` for an unknown plan (callers validate the name first)."""
    return PLAN_PRICES[plan]


def is_full_price(plan: str | None, amount: Decimal) -> bool:
    """Whether ``amount`` pays for ``plan`` exactly (a payment without a plan buys nothing)."""
    return plan in PLAN_PRICES and Decimal(amount) == PLAN_PRICES[plan]


def check_amount(plan: str | None, amount: Decimal) -> None:
    """:class:`InvalidInput` unless a plan payment's ``amount`` is the plan's price."""
    if plan is not None and not is_full_price(plan, amount):
        raise InvalidInput(f"amount must be the {plan} plan's price, {PLAN_PRICES[plan]}")
