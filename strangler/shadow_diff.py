"""Semantic comparison of two answers to the same request: what differs, where, and how.

Shadow mode asks the legacy monolith and the new service the same GET. Two encoders rarely
agree byte for byte (``\\u0026`` vs ``&``, ``7.0`` vs ``7``, key order), so answers are compared
by meaning: JSON bodies parsed (numbers by value, strings after unescaping, objects by key,
``true`` never equal to ``1``), anything else by bytes, plus the status code and an optional
list of response headers. Every difference is reported with a JSON path and one of
:data:`KINDS`.

Ignore rules (:class:`Rule`) name JSON paths (``$[*].genres``, ``$.created_at``) to leave out
(``ignore``) or whose arrays are compared as multisets (``order_insensitive``).
:func:`noise_hits` and :func:`suggest_rules` turn A/A pairs (the monolith asked twice) into
suggested rules: a path that differs between two monolith answers is noise.

The left side is always the monolith, the right side the service: ``missing`` means the
service lacks what the monolith sent, ``extra`` the reverse. Pure, no I/O: the gateway runs it
in the background after the client was answered, bounded by ``max_bytes`` per body.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STATUS = "status"
HEADER = "header"
BODY = "body"  # bodies that are not both JSON (or over the size cap) differ as bytes
TYPE_CHANGED = "type_changed"
MISSING = "missing"
EXTRA = "extra"
VALUE_CHANGED = "value_changed"
ARRAY_ORDER_ONLY = "array_order_only"
#: Every kind of difference, most serious first (a comparison is labelled by its most serious).
KINDS: tuple[str, ...] = (STATUS, BODY, TYPE_CHANGED, MISSING, EXTRA, VALUE_CHANGED, HEADER, ARRAY_ORDER_ONLY)
#: The kind label of a comparison without a counted difference.
NO_KIND = "none"

IGNORE = "ignore"
ORDER_INSENSITIVE = "order_insensitive"
RULE_MODES: tuple[str, ...] = (IGNORE, ORDER_INSENSITIVE)

#: A path step: an object key (str), an array index (int) or :data:`ANY` (patterns only).
ANY = "*"
Step = str | int
#: Differences kept per comparison (the rest are counted in ``Comparison.dropped``).
MAX_DIFFERENCES = 50
#: Longest rendering of a value kept in a :class:`Difference`.
VALUE_CHARS = 200
MAX_RULE_PATH = 300
#: Bodies larger than this are compared as bytes (parsing and walking cost ~1 ms per 15-20 KB).
DEFAULT_MAX_BYTES = 64 * 1024

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STEP = re.compile(r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_]*|\*)"""
                   r"""|\[(?:(?P<index>\d+)|(?P<star>\*)|"(?P<quoted>(?:[^"\\]|\\.)*)")\]""")


class RulePathError(ValueError):
    """A rule path that does not parse."""


def render_path(steps: Sequence[Step]) -> str:
    """``("a", 0, "b c")`` → ``$.a[0]["b c"]``; the inverse of :func:`parse_path`."""
    parts = ["$"]
    for step in steps:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif step == ANY:
            parts.append("[*]")
        elif _IDENT.fullmatch(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(step)}]")
    return "".join(parts)


def parse_path(text: str) -> tuple[Step, ...]:
    """Steps of a rule path: ``$``, ``.key``, ``["any key"]``, ``[3]``, ``[*]`` or ``.*`` (any key or index)."""
    text = text.strip()
    if not text.startswith("$") or len(text) > MAX_RULE_PATH:
        raise RulePathError(f"a path starts with $ and has at most {MAX_RULE_PATH} characters")
    steps: list[Step] = []
    pos = 1
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise RulePathError(f"cannot read the path at {text[pos:pos + 20]!r} (use .key, [\"key\"], [0] or [*])")
        if match["index"] is not None:
            steps.append(int(match["index"]))
        elif match["star"] is not None or match["name"] == ANY:
            steps.append(ANY)
        elif match["name"] is not None:
            steps.append(match["name"])
        else:
            steps.append(json.loads(f'"{match["quoted"]}"'))
        pos = match.end()
    return tuple(steps)


def normalize_path(steps: Sequence[Step]) -> str:
    """The path with every array index as ``[*]``: differences at ``$[3].x`` and ``$[7].x`` add up."""
    return render_path([ANY if isinstance(step, int) else step for step in steps])


@dataclass(frozen=True, slots=True)
class Rule:
    """One ignore rule of a domain: a path pattern and what to do there."""

    path: str
    mode: str = IGNORE

    def steps(self) -> tuple[Step, ...]:
        """The parsed pattern (raises :class:`RulePathError`)."""
        return parse_path(self.path)


def validate_rule(path: str, mode: str) -> Rule:
    """A well-formed rule (canonical path rendering) or :class:`RulePathError`."""
    if mode not in RULE_MODES:
        raise RulePathError(f"mode must be one of {', '.join(RULE_MODES)}")
    return Rule(render_path(parse_path(path)), mode)


class Rules:
    """Compiled rules of one domain; :meth:`mode_at` is asked at every node of a walk."""

    __slots__ = ("_by_length",)

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._by_length: dict[int, list[tuple[tuple[Step, ...], str]]] = {}
        for rule in rules:
            steps = rule.steps()
            self._by_length.setdefault(len(steps), []).append((steps, rule.mode))

    def __bool__(self) -> bool:
        return bool(self._by_length)

    def mode_at(self, path: tuple[Step, ...]) -> str | None:
        """``ignore`` wins over ``order_insensitive`` when both match ``path``; ``None``: no rule."""
        found = None
        for pattern, mode in self._by_length.get(len(path), ()):
            if all(p in (ANY, s) for p, s in zip(pattern, path, strict=True)):
                if mode == IGNORE:
                    return IGNORE
                found = mode
        return found


NO_RULES = Rules()


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference: where (JSON path, ``status`` or ``header:<name>``), what kind, both sides (short)."""

    path: str
    kind: str
    monolith: str | None = None
    service: str | None = None
    #: the path with array indices as ``[*]`` (empty: same as ``path``)
    group: str = ""

    @property
    def normalized(self) -> str:
        """The path with array indices as ``[*]`` (what counts and rules aggregate on)."""
        return self.group or self.path

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with samples)."""
        return {"path": self.path, "kind": self.kind, "monolith": self.monolith, "service": self.service,
                "normalized": self.normalized}


@dataclass(frozen=True, slots=True)
class Answer:
    """What one backend answered: status, the compared headers (lower-case names) and the body."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing two answers."""

    differences: tuple[Difference, ...]
    dropped: int = 0

    @property
    def result(self) -> str:
        """``match`` or ``mismatch``."""
        return "mismatch" if self.differences else "match"

    @property
    def kind(self) -> str:
        """The most serious kind present, :data:`NO_KIND` for a match."""
        present = {d.kind for d in self.differences}
        return next((k for k in KINDS if k in present), NO_KIND)


def _short(value: Any) -> str | None:
    if value is _ABSENT:
        return None
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, bytes) else \
        value[:VALUE_CHARS].decode("utf-8", "replace")
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 1] + "…"


_ABSENT = object()


#: JSON types by the Python type ``json.loads`` gives them (bool apart: ``True == 1`` in Python, never in JSON).
_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean",
          type(None): "null"}


def _type(value: Any) -> str:
    return _TYPES[type(value)]


def _canonical(value: Any) -> Any:
    """A form equal for equal JSON meaning: integral floats as ints, objects as sorted items."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (_type(value), value)
    if isinstance(value, float):
        if math.isnan(value):
            return ("number", "nan")
        return ("number", int(value)) if value.is_integer() else ("number", value)
    if isinstance(value, int):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))


def _sort_key(value: Any) -> tuple[str, Any]:
    """Equal for equal meaning, orderable across types (multiset and order-only checks)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return (_TYPES[kind], value)
    if kind is float:
        if value != value:
            return ("number-nan", 0)
        return ("number", int(value) if value.is_integer() else value)
    if value is None:
        return ("null", 0)
    return ("~" + _TYPES[kind], repr(_canonical(value)))


class _Walk:
    """One comparison of two parsed JSON documents under a set of rules."""

    __slots__ = ("dropped", "out", "rules")

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.out: list[Difference] = []
        self.dropped = 0

    def add(self, path: tuple[Step, ...], kind: str, left: Any, right: Any) -> None:
        if len(self.out) >= MAX_DIFFERENCES:
            self.dropped += 1
            return
        self.out.append(Difference(render_path(path), kind, _short(left), _short(right), normalize_path(path)))

    def node(self, left: Any, right: Any, path: tuple[Step, ...]) -> None:
        same_type = type(left) is type(right)
        if same_type and type(left) is not dict and type(left) is not list:  # most nodes: equal scalars
            if left != right and not (left != left and right != right) \
                    and (not self.rules or self.rules.mode_at(path) != IGNORE):  # NaN is equal to NaN here
                self.add(path, VALUE_CHANGED, left, right)
            return
        mode = self.rules.mode_at(path) if self.rules else None
        if mode == IGNORE:
            return
        kind_left, kind_right = _type(left), _type(right)
        if kind_left != kind_right:
            self.add(path, TYPE_CHANGED, left, right)
        elif kind_left == "object":
            self.objects(left, right, path)
        elif kind_left == "array":
            self.arrays(left, right, path, mode == ORDER_INSENSITIVE)
        elif left != right:  # int and float: 7 == 7.0
            self.add(path, VALUE_CHANGED, left, right)

    def objects(self, left: dict, right: dict, path: tuple[Step, ...]) -> None:
        for key, value in left.items():
            child = (*path, key)
            if key in right:
                self.node(value, right[key], child)
            elif not self.rules or self.rules.mode_at(child) != IGNORE:
                self.add(child, MISSING, value, _ABSENT)
        for key, value in right.items():
            child = (*path, key)
            if key not in left and (not self.rules or self.rules.mode_at(child) != IGNORE):
                self.add(child, EXTRA, _ABSENT, value)

    def multisets(self, left: list, right: list, path: tuple[Step, ...]) -> None:
        """Elements the service lacks are ``missing``, those it adds ``extra`` (at their own index)."""
        unmatched = Counter(map(_sort_key, right))
        for index, value in enumerate(left):
            key = _sort_key(value)
            if unmatched[key]:
                unmatched[key] -= 1
            else:
                self.add((*path, index), MISSING, value, _ABSENT)
        for index, value in enumerate(right):
            key = _sort_key(value)
            if unmatched[key]:
                unmatched[key] -= 1
                self.add((*path, index), EXTRA, _ABSENT, value)

    def arrays(self, left: list, right: list, path: tuple[Step, ...], unordered: bool) -> None:
        if unordered:
            self.multisets(left, right, path)
            return
        if len(left) == len(right) and left != right and len(left) > 1 \
                and sorted(map(_sort_key, left)) == sorted(map(_sort_key, right)) \
                and [_sort_key(v) for v in left] != [_sort_key(v) for v in right]:
            self.add(path, ARRAY_ORDER_ONLY, left, right)
            return
        for index, (a, b) in enumerate(zip(left, right, strict=False)):
            self.node(a, b, (*path, index))
        for index in range(len(right), len(left)):
            self.add((*path, index), MISSING, left[index], _ABSENT)
        for index in range(len(left), len(right)):
            self.add((*path, index), EXTRA, _ABSENT, right[index])


def _parse(body: bytes) -> Any:
    """The JSON value of ``body``, or :data:`_ABSENT` when it is not JSON."""
    if not body:
        return _ABSENT
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return _ABSENT


def compare_bodies(left: bytes, right: bytes, rules: Rules = NO_RULES, *,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> Comparison:
    """Differences between two bodies: by meaning when both are JSON (and within ``max_bytes``), else by bytes."""
    if left == right and not rules:
        return Comparison(())
    if len(left) <= max_bytes and len(right) <= max_bytes:
        parsed_left, parsed_right = _parse(left), _parse(right)
        if parsed_left is not _ABSENT and parsed_right is not _ABSENT:
            walk = _Walk(rules)
            walk.node(parsed_left, parsed_right, ())
            return Comparison(tuple(walk.out), walk.dropped)
    if left == right:
        return Comparison(())
    return Comparison((Difference("$", BODY, _short(left), _short(right)),))


def compare(monolith: Answer, service: Answer, rules: Rules = NO_RULES, *, max_bytes: int = DEFAULT_MAX_BYTES,
            headers: Sequence[str] = ()) -> Comparison:
    """Every difference between the monolith's and the service's answer (status, ``headers``, body)."""
    found: list[Difference] = []
    if monolith.status != service.status:
        found.append(Difference(STATUS, STATUS, str(monolith.status), str(service.status)))
    for name in headers:
        a, b = monolith.headers.get(name), service.headers.get(name)
        if a != b:
            found.append(Difference(f"{HEADER}:{name}", HEADER, a, b))
    body = compare_bodies(monolith.body, service.body, rules, max_bytes=max_bytes)
    return Comparison((*found, *body.differences), body.dropped)


def noise_hits(pair: Comparison) -> set[tuple[str, str]]:
    """``(normalized path, kind)`` of each body difference in an A/A pair (the monolith asked twice).

    Counted over many pairs, these feed :func:`suggest_rules`; status and header differences
    are not body paths and never become rules.
    """
    return {(d.normalized, d.kind) for d in pair.differences if d.path.startswith("$")}


def suggest_rules(hits: Mapping[tuple[str, str], int], min_hits: int = 2) -> list[Rule]:
    """Rules for paths seen differing in at least ``min_hits`` A/A pairs (``(path, kind) → pairs``).

    One hit may be a write landing between the two requests; two mean the path is not
    deterministic. The rule is ``order_insensitive`` when only an array's order changed there,
    else ``ignore``.
    """
    kinds: dict[str, set[str]] = {}
    totals: Counter[str] = Counter()
    for (path, kind), count in hits.items():
        kinds.setdefault(path, set()).add(kind)
        totals[path] += count
    return [Rule(path, ORDER_INSENSITIVE if kinds[path] == {ARRAY_ORDER_ONLY} else IGNORE)
            for path in sorted(kinds) if totals[path] >= min_hits]
