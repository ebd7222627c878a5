"""The one place the payment provider adapter is chosen: ``PAYMENT_PROVIDER=sandbox|stripe|yookassa``."""

from __future__ import annotations

from domain_services.payments.provider import PaymentProvider
from domain_services.payments.sandbox_provider import SandboxProvider
from domain_services.payments.stripe_provider import StripeProvider
from domain_services.payments.yookassa_provider import YooKassaProvider
from kernel.settings import Settings

PROVIDERS = ("sandbox", "stripe", "yookassa")


def build_provider(settings: Settings, sandbox_secret: str) -> PaymentProvider:
    """The adapter ``PAYMENT_PROVIDER`` names; ``ValueError`` for an unknown name or missing keys.

    ``sandbox_secret`` is the key and webhook secret shared with the sandbox process.
    """
    if settings.payment_provider == "sandbox":
        return SandboxProvider(settings.payment_provider_url, sandbox_secret,
                               tolerance=settings.payment_webhook_tolerance_seconds)
    if settings.payment_provider == "stripe":
        return StripeProvider.from_settings(settings)
    if settings.payment_provider == "yookassa":
        return YooKassaProvider.from_settings(settings)
    raise ValueError(f"invalid value for PAYMENT_PROVIDER: {settings.payment_provider!r} (one of {PROVIDERS})")
