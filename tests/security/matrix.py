"""The authorization matrix: (method, path) and role → status at the gateway, as one table.

Used twice: against :mod:`proxy.policy` directly (fast) and through a live gateway in front
of recording upstreams (``test_authorization.py``), where 200 means "reached the upstream".
Ownership (own vs. someone else's record) is the services' part and tested there.
"""

from __future__ import annotations

ROLES = ("anonymous", "user", "editor", "admin", "service")

#: method, path, statuses in :data:`ROLES` order
MATRIX: list[tuple[str, str, str]] = [
    # catalogue: reads open, ratings by anyone signed in, other writes by editors and admins
    ("GET", "/api/movies", "200 200 200 200 200"),
    ("GET", "/api/movies/1", "200 200 200 200 200"),
    ("HEAD", "/api/movies", "200 200 200 200 200"),
    ("POST", "/api/movies", "401 403 200 200 403"),
    ("PUT", "/api/movies/1", "401 403 200 200 403"),
    ("DELETE", "/api/movies/1", "401 403 200 200 403"),
    ("POST", "/api/movies/1/ratings", "401 200 200 200 200"),
    ("GET", "/api/movies/health", "200 200 200 200 200"),
    # users: public listing, sign-up open, the rest signed in (ownership in the service)
    ("GET", "/api/users", "200 200 200 200 200"),
    ("POST", "/api/users", "200 200 200 200 200"),
    ("GET", "/api/users/me", "401 200 200 200 200"),
    ("GET", "/api/users/7", "401 200 200 200 200"),
    ("PUT", "/api/users/7", "401 200 200 200 200"),
    ("DELETE", "/api/users/7", "401 200 200 200 200"),
    ("PATCH", "/api/users", "401 200 200 200 200"),
    # auth: sign-in, registration and refresh open; logout and revoke signed in
    ("POST", "/api/auth/login", "200 200 200 200 200"),
    ("POST", "/api/auth/register", "200 200 200 200 200"),
    ("POST", "/api/auth/refresh", "200 200 200 200 200"),
    ("POST", "/api/auth/logout", "401 200 200 200 200"),
    ("POST", "/api/auth/revoke", "401 200 200 200 200"),
    # payments: reads and creation signed in; completion and refunds by the payment side
    ("GET", "/api/payments", "401 200 200 200 200"),
    ("GET", "/api/payments/3", "401 200 200 200 200"),
    ("POST", "/api/payments", "401 200 200 200 200"),
    ("POST", "/api/payments/3/status", "401 403 403 200 200"),
    ("POST", "/api/payments/3/refund", "401 403 403 200 200"),
    ("POST", "/api/payments/3/checkout", "401 200 200 200 200"),
    ("POST", "/api/payments/webhook", "200 200 200 200 200"),
    ("PATCH", "/api/subscriptions/2", "401 200 200 200 200"),
    ("GET", "/api/payments/health", "200 200 200 200 200"),
    ("GET", "/api/subscriptions", "401 200 200 200 200"),
    ("POST", "/api/subscriptions", "401 200 200 200 200"),
    # events API: publishing by services and admins
    ("GET", "/api/events/health", "200 200 200 200 200"),
    ("POST", "/api/events/payment", "401 403 403 200 200"),
    ("POST", "/api/events/movie", "401 403 403 200 200"),
    # anything else: reads open, writes admins only
    ("GET", "/api/unknown", "200 200 200 200 200"),
    ("POST", "/api/unknown", "401 403 403 200 403"),
    ("DELETE", "/elsewhere", "401 403 403 200 403"),
]


def cases() -> list[tuple[str, str, str, int]]:
    """``(method, path, role, status)`` for every cell of :data:`MATRIX`."""
    return [(method, path, role, int(status))
            for method, path, statuses in MATRIX
            for role, status in zip(ROLES, statuses.split(), strict=True)]
