"""Who may call what: the gateway's one authorization table (route, method → roles).

The gateway decides by *role* on the canonical path (:mod:`proxy.target`); whose data a call
touches (ownership) is decided by the service that holds the data, from the ``X-User-Id`` /
``X-User-Role`` headers only the gateway sets. docs/security.md prints this table with the
threat model.

Patterns: a literal path matches itself (and the same path with a trailing ``/``); ``*``
matches one segment; a trailing ``/**`` matches the path and everything beneath it. The
first rule whose pattern and method match decides; a request no rule matches falls to
:data:`DEFAULT_READ` / :data:`DEFAULT_WRITE` (reads open, writes admins only: deny by default).

``PROXY_AUTH_MODE`` adjusts the table: ``writes`` (default) applies it as written, ``all``
additionally refuses anonymous callers everywhere but the open doors (health, sign-up,
sign-in), ``off`` enforces nothing (tokens that are sent are still verified and passed on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

ANONYMOUS = "anonymous"
ANYONE = frozenset({ANONYMOUS, "user", "editor", "admin", "service"})
SIGNED_IN = ANYONE - {ANONYMOUS}
EDITORS = frozenset({"editor", "admin"})
PAYMENT_SIDE = frozenset({"service", "admin"})
ADMINS = frozenset({"admin"})
#: Who may read the gateway's health details and metrics.
OPERATORS = frozenset({"admin", "service"})
#: ``X-Route-To: service|monolith`` pins one request to that backend, whatever the flag says —
#: for these roles only (a ``tester`` role, where tokens carry one, may try the service before
#: traffic moves); anyone else's header is ignored. Both outcomes are counted in metrics.
PIN_HEADER = "x-route-to"
PIN_TARGETS = frozenset({"service", "monolith"})
PINNERS = frozenset({"admin", "service", "tester"})

READS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EVERY = READS | WRITES
MODES = ("writes", "all", "off")

ALLOWED = 0
UNAUTHENTICATED = 401
FORBIDDEN = 403


@dataclass(frozen=True, slots=True)
class Rule:
    """Callers with one of ``roles`` may send ``methods`` to paths matching ``pattern``.

    ``open_door``: sign-up, sign-in and token refresh — anyone, and an attached
    ``Authorization`` header is ignored (a stale token must not block logging in again).
    ``callback``: a provider's callback (authenticated by its own signature); exempt from the
    per-address cap, with a concurrency budget of its own (:mod:`proxy.intake`).
    """

    pattern: str
    methods: frozenset[str]
    roles: frozenset[str]
    open_door: bool = False
    callback: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile(self.pattern))

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule decides ``method path``."""
        return method in self.methods and self.regex.fullmatch(path) is not None


def _compile(pattern: str) -> re.Pattern[str]:
    subtree = pattern.endswith("/**")
    base = pattern[:-3] if subtree else pattern
    body = "/".join("[^/]+" if part == "*" else re.escape(part) for part in base.split("/"))
    return re.compile(body + ("(?:/.*)?" if subtree else "/?"))


_HEALTH = tuple(Rule(f"/api/{name}/health", READS, ANYONE) for name in
                ("movies", "users", "payments", "subscriptions", "events"))

#: The table, in order. Keep docs/security.md in step with it.
RULES: tuple[Rule, ...] = (
    *_HEALTH,
    # sign-up, sign-in, token refresh: open doors
    Rule("/api/users", frozenset({"POST"}), ANYONE, open_door=True),
    Rule("/api/auth/login", EVERY, ANYONE, open_door=True),
    Rule("/api/auth/register", EVERY, ANYONE, open_door=True),
    Rule("/api/auth/refresh", EVERY, ANYONE, open_door=True),
    # logout, revoke, me: a signed-in caller (the users service decides whom one may revoke)
    Rule("/api/auth/**", EVERY, SIGNED_IN),
    # users: the public listing is open (public fields only); everything else needs a
    # signed-in caller, and the users service lets one change only one's own profile
    Rule("/api/users", READS, ANYONE),
    Rule("/api/users/**", EVERY, SIGNED_IN),
    # catalogue: reads open; a rating by any signed-in user (always as the token's user);
    # every other catalogue write by editors and admins
    Rule("/api/movies/**", READS, ANYONE),
    Rule("/api/movies/*/ratings/**", WRITES, SIGNED_IN),
    Rule("/api/movies/**", WRITES, EDITORS),
    # payments: the provider's callback carries no token (its HMAC signature, checked by the
    # payments service, is the credential); only the payment side completes or refunds; the
    # rest needs a signed-in caller, and the payments service limits users to their own records
    Rule("/api/payments/webhook", frozenset({"POST"}), ANYONE, callback=True),
    Rule("/api/payments/*/status", WRITES, PAYMENT_SIDE),
    Rule("/api/payments/*/refund", WRITES, PAYMENT_SIDE),
    Rule("/api/payments/**", EVERY, SIGNED_IN),
    Rule("/api/subscriptions/**", EVERY, SIGNED_IN),
    # events API: publishing onto the domain topics is for services and admins
    Rule("/api/events/**", READS, ANYONE),
    Rule("/api/events/**", WRITES, PAYMENT_SIDE),
)
DEFAULT_READ = Rule("/**", READS, ANYONE)
DEFAULT_WRITE = Rule("/**", EVERY, ADMINS)


@lru_cache(maxsize=8192)
def rule_for(method: str, path: str) -> Rule:
    """The rule deciding ``method path`` (canonical path, no query)."""
    for rule in RULES:
        if rule.matches(method, path):
            return rule
    return DEFAULT_READ if method in READS else DEFAULT_WRITE


def verdict(rule: Rule, role: str, mode: str) -> int:
    """:data:`ALLOWED`, :data:`UNAUTHENTICATED` (401) or :data:`FORBIDDEN` (403) for a caller's ``role``."""
    if mode == "off" or rule.open_door:
        return ALLOWED
    if role == ANONYMOUS:
        if mode == "all" and rule not in _HEALTH:
            return UNAUTHENTICATED
        return ALLOWED if ANONYMOUS in rule.roles else UNAUTHENTICATED
    return ALLOWED if role in rule.roles else FORBIDDEN


def may_pin(role: str | None, target: str) -> bool:
    """Whether a caller with ``role`` may pin a request to ``target`` (:data:`PIN_HEADER`)."""
    return role in PINNERS and target in PIN_TARGETS


def table() -> list[tuple[str, str, str]]:
    """``(pattern, methods, who)`` rows for documentation and tests, in decision order."""
    def names(items: frozenset[str], order: tuple[str, ...]) -> str:
        return ", ".join(name for name in order if name in items)

    methods = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
    roles = (ANONYMOUS, "user", "editor", "admin", "service")
    rows = []
    for rule in (*RULES, DEFAULT_READ, DEFAULT_WRITE):
        who = "anyone" if rule.roles == ANYONE else names(rule.roles, roles)
        if rule.open_door:
            who += " (open door: a sent token is ignored)"
        rows.append((rule.pattern, "any" if rule.methods == EVERY else names(rule.methods, methods), who))
    return rows
