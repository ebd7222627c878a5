#!/usr/bin/env bash
# The Stripe-mode run against stripe-mock, step by step: a checkout creates a PaymentIntent at
# stripe-mock, a webhook signed with the SDK's scheme completes the payment in a payments service
# running with PAYMENT_PROVIDER=stripe, the reaction buys the 30-day period, a refund (one
# Refund at stripe-mock) and its charge.refunded webhook take the time back.
#
# Needs the test database's PostgreSQL (as `make test` does); installs stripe-mock if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/pytest -q -s -p no:cacheprovider \
  "tests/payments/test_stripe.py::test_stripe_checkout_webhook_subscription_and_refund" "$@"
