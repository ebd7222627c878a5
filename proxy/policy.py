"""Who may call what: the gateway's one authorization table (route, method → roles).

The table is built from the domain registry (``kernel/registry.py``): each domain's health
path is open to all, then its own :class:`~kernel.registry.Access` rows, then its blanket
``reads`` and ``writes`` rule per route prefix. A new domain gets its rules from its entry.

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

from kernel import registry, tokens

ANONYMOUS = "anonymous"
#: Every caller: no token, or a token of one of the roles tokens carry (``kernel.tokens.ROLES``).
ALL_ROLES = (ANONYMOUS, *tokens.ROLES)
ANYONE = frozenset(ALL_ROLES)
SIGNED_IN = ANYONE - {ANONYMOUS}
EDITORS = tokens.EDITORS
PAYMENT_SIDE = tokens.PRIVILEGED
ADMINS = frozenset({"admin"})
#: Who may read the gateway's health details and metrics.
OPERATORS = tokens.PRIVILEGED
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
    ``probe``: a health path, open to anonymous callers even under ``PROXY_AUTH_MODE=all``.
    """

    pattern: str
    methods: frozenset[str]
    roles: frozenset[str]
    open_door: bool = False
    callback: bool = False
    probe: bool = False
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


#: The registry's names for role groups (:data:`kernel.registry.WHO`).
WHO: dict[str, frozenset[str]] = {
    "anyone": ANYONE, "signed-in": SIGNED_IN, "editors": EDITORS, "payment-side": PAYMENT_SIDE, "admins": ADMINS,
}
_METHOD_GROUPS = {"reads": READS, "writes": WRITES, "any": EVERY}


def _methods(name: str) -> frozenset[str]:
    group = _METHOD_GROUPS.get(name)
    if group is not None:
        return group
    if name not in EVERY:
        raise ValueError(f"unknown method or method group {name!r}")
    return frozenset({name})


def _access_rule(access: registry.Access) -> Rule:
    return Rule(access.pattern, _methods(access.methods), WHO[access.who], open_door=access.open_door,
                callback=access.callback, probe=access.probe)


def domain_rules(domain: registry.Domain) -> tuple[Rule, ...]:
    """``domain``'s rules after its health probe: its own rows, then reads and writes per route prefix."""
    own = tuple(_access_rule(access) for access in domain.access)
    if domain.reads == domain.writes:
        blanket = tuple(Rule(f"{prefix}/**", EVERY, WHO[domain.reads]) for prefix in domain.route_prefixes)
    else:
        blanket = tuple(rule for prefix in domain.route_prefixes for rule in (
            Rule(f"{prefix}/**", READS, WHO[domain.reads]), Rule(f"{prefix}/**", WRITES, WHO[domain.writes])))
    return own + blanket


def build_rules(domains: tuple[registry.Domain, ...]) -> tuple[Rule, ...]:
    """The table for ``domains``: every health probe first, then each domain's rules in declaration order.

    Route prefixes never overlap (the registry's test), so one domain's rules cannot shadow another's.
    """
    probes = tuple(Rule(d.health_path, READS, ANYONE, probe=True) for d in domains)
    return probes + tuple(rule for d in domains for rule in domain_rules(d))


#: The table, in order (docs/security.md prints it; ``cinemaabyss generate`` writes that table).
RULES: tuple[Rule, ...] = build_rules(registry.DOMAINS)
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
        if mode == "all" and not rule.probe:
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
    roles = ALL_ROLES
    rows = []
    for rule in (*RULES, DEFAULT_READ, DEFAULT_WRITE):
        who = "anyone" if rule.roles == ANYONE else names(rule.roles, roles)
        if rule.open_door:
            who += " (open door: a sent token is ignored)"
        rows.append((rule.pattern, "any" if rule.methods == EVERY else names(rule.methods, methods), who))
    return rows
