"""Notifications: what happened (from the audit log), how it reads (generic, Slack, Teams), how it is signed.

The audit log is the source: every plan move (``rollout.*``) and every gateway auto-rollback
(``flag.auto_rollback``) is already a ``flag_audit`` row written in the transaction that made
the change, so the notifier (:mod:`strangler.webhooks`) reads rows past its cursor and
nothing is told before it happened. Dead letters come from the dead-letter topics' counts.

Signing (receivers verify it the way Stripe-style webhooks are verified): the body is sent
with ``X-CinemaAbyss-Timestamp: <unix seconds>`` and ``X-CinemaAbyss-Signature: sha256=<hex>``,
the HMAC-SHA256 under the endpoint's secret of ``"<timestamp>.<body>"``; a receiver rejects
old timestamps to stop replays. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.backoff import delay
from strangler.flag_contract import ACTION_AUTO_ROLLBACK

#: Kinds an endpoint can subscribe to (none chosen = all).
EVENTS = ("plan.start", "plan.step", "plan.hold", "plan.abort", "plan.finish", "plan.rollback", "auto_rollback",
          "dead_letter")
FORMATS = ("generic", "slack", "teams")
TIMESTAMP_HEADER = "X-CinemaAbyss-Timestamp"
SIGNATURE_HEADER = "X-CinemaAbyss-Signature"
EVENT_HEADER = "X-CinemaAbyss-Event"

#: audit action → (notification kind, severity); actions not listed tell nobody.
_FROM_AUDIT = {
    "rollout.started": ("plan.start", "info"),
    "rollout.advanced": ("plan.step", "info"),
    "rollout.waiting": ("plan.hold", "warning"),
    "rollout.inconclusive": ("plan.hold", "warning"),
    "rollout.paused": ("plan.hold", "info"),
    "rollout.dry_run": ("plan.hold", "info"),
    "rollout.aborted": ("plan.abort", "warning"),
    "rollout.completed": ("plan.finish", "info"),
    "rollout.rolled_back": ("plan.rollback", "critical"),
    "rollout.stopped": ("plan.rollback", "warning"),
    ACTION_AUTO_ROLLBACK: ("auto_rollback", "critical"),
}
_COLOURS = {"info": "2E7D32", "warning": "F9A825", "critical": "C62828"}


@dataclass(frozen=True, slots=True)
class Notification:
    """One thing worth telling."""

    kind: str
    severity: str
    title: str
    text: str
    at: str
    domain: str | None = None
    facts: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The generic JSON payload."""
        return {"event": self.kind, "severity": self.severity, "title": self.title, "text": self.text,
                "at": self.at, "domain": self.domain, "facts": dict(self.facts)}


def from_audit(action: str, domain: str | None, actor: str, reason: str | None, at: str,
               after: Mapping[str, Any] | None) -> Notification | None:
    """The notification for one audit row, or ``None`` when the row tells nobody."""
    known = _FROM_AUDIT.get(action)
    if known is None:
        return None
    kind, severity = known
    what = action.split(".", 1)[1].replace("_", " ")
    facts = {"actor": actor}
    plan = after or {}
    if "percent" in plan:
        facts["step"] = f"{plan.get('step_index', 0) + 1}/{len(plan.get('steps') or [])} at {plan['percent']}%"
    verdicts = (plan.get("judgement") or {}).get("verdicts") or []
    for verdict in verdicts:
        facts[f"gate {verdict['gate']}"] = f"{verdict['outcome']}{' (dry-run)' if verdict.get('dry_run') else ''}"
    title = (f"{domain}: automatic rollback to the monolith" if kind == "auto_rollback"
             else f"{domain}: rollout {what}")
    return Notification(kind, severity, title, reason or "", at, domain, facts)


def dead_letters(group: str, topic: str, new: int, total: int, at: str) -> Notification:
    """``new`` messages of ``topic`` that ``group`` gave up on since the last look."""
    return Notification("dead_letter", "critical", f"{new} new dead letter(s) on {topic}",
                        f"consumer group {group} moved {new} message(s) of {topic} to {topic}.dlq "
                        f"({total} in all); inspect and redrive them in the console", at, None,
                        {"group": group, "topic": topic, "total": str(total)})


def payload(notification: Notification, fmt: str) -> dict[str, Any]:
    """The body in ``fmt``: ``generic`` (our JSON), ``slack`` (incoming webhook) or ``teams`` (MessageCard)."""
    facts = notification.facts
    if fmt == "slack":
        lines = "\n".join(f"*{k}:* {v}" for k, v in facts.items())
        return {"text": notification.title,
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": notification.title[:150]}},
                           {"type": "section", "text": {"type": "mrkdwn", "text": notification.text or " "}},
                           *([{"type": "section", "text": {"type": "mrkdwn", "text": lines}}] if lines else []),
                           {"type": "context", "elements": [{"type": "mrkdwn", "text":
                                                             f"{notification.kind} · {notification.at}"}]}]}
    if fmt == "teams":
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                "summary": notification.title, "themeColor": _COLOURS.get(notification.severity, "607D8B"),
                "title": notification.title, "text": notification.text or notification.title,
                "sections": [{"facts": [{"name": k, "value": v} for k, v in
                                        {**facts, "event": notification.kind, "at": notification.at}.items()]}]}
    if fmt == "generic":
        return notification.as_dict()
    raise ValueError(f"unknown format {fmt!r}")


def body(data: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, raw: bytes) -> str:
    """``sha256=<hex>`` of ``"<timestamp>.<body>"`` under ``secret``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, timestamp: int, raw: bytes, kind: str) -> dict[str, str]:
    """Every header of one delivery."""
    return {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret, timestamp, raw), EVENT_HEADER: kind}


def verify(secret: str, headers: Mapping[str, str], raw: bytes, now: float, tolerance_s: int = 300) -> bool:
    """A receiver's check: the signature matches and the timestamp is recent (constant-time compare)."""
    try:
        timestamp = int(headers[TIMESTAMP_HEADER])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, raw), headers.get(SIGNATURE_HEADER, ""))


#: The longest pause between two deliveries of one notification.
MAX_BACKOFF_S = 3600


def backoff(attempt: int, first_s: int) -> int:
    """Pause before retry number ``attempt`` (1-based): ``first_s``, doubled each time, at most an hour."""
    return int(delay(attempt, first_s, MAX_BACKOFF_S))
