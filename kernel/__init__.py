"""The kernel: what every domain needs and nothing else.

Database engine and unit of work, the outbox writer (with its after-commit relay nudge), the
event envelope and event-type lookup, domain errors and their HTTP mapping, validation,
settings, tokens and identity, the domain registry and the app factory shared by every
deployment. The kernel imports no domain and no higher layer.
"""
