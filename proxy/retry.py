"""Which failed service attempts the gateway may send to the monolith instead — a pure decision.

A failure is one of four :class:`Failure` kinds, classified from what the gateway saw:

* ``NOT_SENT`` — no connection to the service was ever established (connection refused,
  unreachable, DNS failure, TLS handshake or connect timeout). Not one byte of the request
  left the gateway, so replaying it elsewhere is safe for *every* method, writes included,
  provided the request body can be replayed (it was buffered or never read).
* ``MAY_HAVE_REACHED`` — the connection existed and the request was (or may have been)
  written, then the connection broke or timed out before a response head arrived. The
  service may have acted on it: safe methods are replayed, and so is a write whose
  idempotency key the service holds (``keyed``): the service stores key → answer in the
  write's own transaction, so the monolith, sent the same key, either finds the committed
  answer or waits out the dead transaction and performs the write once. Any other write gets
  502.
* ``ANSWERED_5XX`` — the service answered 5xx. Safe methods and keyed writes are replayed
  (a keyed write's 5xx rolled back everything, its key included); any other write's answer
  is passed through (the service may have done part of the work).
* ``BODY_BROKEN`` — the response head arrived but the body broke. Safe methods and keyed
  writes are replayed while the client has not received a byte; afterwards nothing can be
  done.

Every replay also needs the domain's flag to allow fallback.
"""

from __future__ import annotations

import enum

#: Methods that never change state (RFC 9110 §9.2.1) and are replayed after any failure.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Failure(enum.Enum):
    """What went wrong with one attempt at the service."""

    NOT_SENT = "not_sent"
    MAY_HAVE_REACHED = "may_have_reached"
    ANSWERED_5XX = "answered_5xx"
    BODY_BROKEN = "body_broken"


def may_replay(method: str, failure: Failure, *, fallback: bool, body_replayable: bool = True,
               client_saw_bytes: bool = False, keyed: bool = False) -> bool:
    """Whether the failed request may be sent to the monolith now.

    ``body_replayable``: the request body is still available in full (buffered, or never
    read). ``client_saw_bytes``: some of the failed response already went to the client.
    ``keyed``: the service stores this request's idempotency key with its answer in the
    write's transaction (the monolith shares that table), so a replay cannot write twice.
    """
    if not fallback or client_saw_bytes or not body_replayable:
        return False
    if failure is Failure.NOT_SENT:
        return True
    return method in SAFE_METHODS or keyed
