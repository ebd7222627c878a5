"""Where shadow comparisons are kept, in one place: Redis counters, the rule and sample SQL, the channel.

Written by the gateway (plain psycopg and redis-py, no ORM) and read by the console, the CLI
and the rollout judge. Three stores, each sized by design:

* **per-minute counters** — Redis hash ``shadow:<domain>:<unix minute>`` (kept a day):
  ``cmp:<match|mismatch|error>``, ``kind:<kind>`` and ``path:<kind>:<normalized path>``
  (comparisons in which that path differed that way; array indices as ``[*]`` so the field
  count follows the answer's schema, not its data; a worker tracks at most
  :data:`MAX_PATH_FIELDS` distinct paths a minute, the rest count as :data:`OTHER_PATH`);
* **A/A noise** — Redis hash ``shadow:noise:<domain>`` (kept a week after the last pair):
  ``pairs`` and ``hit:<kind>:<path>`` from comparing the monolith with itself;
* **samples** — PostgreSQL ``shadow_samples``, both bodies cut to a configured size, at most
  a configured number per domain (oldest pruned in the insert's transaction).

The per-second ``traffic:<second>`` fields the rollout gates read are named in
:mod:`strangler.rollout_gates`. All SQL uses bound ``%(name)s`` parameters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

RULES_CHANNEL = "shadow_rules"
SELECT_RULES = "SELECT domain, path, mode FROM shadow_rules ORDER BY domain, path"
RESULTS = ("match", "mismatch", "error")

COUNTS_TTL = 24 * 3600
NOISE_TTL = 7 * 24 * 3600
MAX_PATH_FIELDS = 200
OTHER_PATH = "(other paths)"

INSERT_SAMPLE = (
    "INSERT INTO shadow_samples (domain, target, primary_backend, kind, differences, monolith_status, "
    "service_status, monolith_body, service_body, truncated) VALUES (%(domain)s, %(target)s, %(primary)s, "
    "%(kind)s, %(differences)s, %(monolith_status)s, %(service_status)s, %(monolith_body)s, %(service_body)s, "
    "%(truncated)s)"
)
#: Keep the newest ``cap`` rows of a domain.
PRUNE_SAMPLES = (
    "DELETE FROM shadow_samples WHERE domain = %(domain)s AND id < ("
    "SELECT min(id) FROM (SELECT id FROM shadow_samples WHERE domain = %(domain)s "
    "ORDER BY id DESC LIMIT %(cap)s) AS kept)"
)


def counts_key(domain: str, minute: int) -> str:
    """The per-minute counter hash of ``domain`` (``minute`` = unix seconds // 60)."""
    return f"shadow:{domain}:{minute}"


def noise_key(domain: str) -> str:
    """The A/A noise hash of ``domain``."""
    return f"shadow:noise:{domain}"


def result_field(result: str) -> str:
    """Comparisons that ended ``match`` | ``mismatch`` | ``error``."""
    return f"cmp:{result}"


def kind_field(kind: str) -> str:
    """Comparisons whose most serious difference was ``kind``."""
    return f"kind:{kind}"


def path_field(kind: str, path: str) -> str:
    """Comparisons in which ``path`` (normalized) differed as ``kind``."""
    return f"path:{kind}:{path}"


def noise_field(kind: str, path: str) -> str:
    """A/A pairs in which ``path`` (normalized) differed as ``kind``."""
    return f"hit:{kind}:{path}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Counts:
    """A domain's shadow counters summed over a window of per-minute hashes."""

    results: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    paths: Counter[tuple[str, str]] = field(default_factory=Counter)  # (path, kind) → comparisons

    @property
    def compared(self) -> int:
        """Comparisons that got an answer from both sides."""
        return self.results["match"] + self.results["mismatch"]

    @property
    def mismatch_rate(self) -> float:
        """Mismatched share of the comparisons (0 without comparisons)."""
        return self.results["mismatch"] / self.compared if self.compared else 0.0

    def add(self, fields: Mapping[bytes | str, bytes | str | int]) -> None:
        """Add one per-minute hash (``HGETALL``)."""
        for raw_name, raw_count in fields.items():
            name, count = _text(raw_name), int(raw_count)
            prefix, _, rest = name.partition(":")
            if prefix == "cmp":
                self.results[rest] += count
            elif prefix == "kind":
                self.kinds[rest] += count
            elif prefix == "path":
                kind, _, path = rest.partition(":")
                self.paths[(path, kind)] += count


def sum_counts(hashes: Iterable[Mapping[bytes | str, bytes | str | int]]) -> Counts:
    """:class:`Counts` over ``hashes`` (one ``HGETALL shadow:<domain>:<minute>`` each)."""
    counts = Counts()
    for fields in hashes:
        counts.add(fields)
    return counts


def parse_noise(fields: Mapping[bytes | str, bytes | str | int]) -> tuple[int, dict[tuple[str, str], int]]:
    """``(pairs, {(path, kind): hits})`` from ``HGETALL shadow:noise:<domain>``."""
    pairs, hits = 0, {}
    for raw_name, raw_count in fields.items():
        name = _text(raw_name)
        if name == "pairs":
            pairs = int(raw_count)
        elif name.startswith("hit:"):
            kind, _, path = name[4:].partition(":")
            hits[(path, kind)] = int(raw_count)
    return pairs, hits
