"""A sandbox payment provider: takes checkouts and calls back signed webhooks, like a real one would."""
