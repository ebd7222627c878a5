"""Benchmarks (``make bench``): scripts run by path; nothing in the product imports them."""
