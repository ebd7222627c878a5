"""Payments domain: payments, subscriptions, billing."""
