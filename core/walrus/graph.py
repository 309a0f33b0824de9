"""``Graph``: a hexastore of subject-predicate-object triples in one sorted set.

Layout (upstream walrus 0.9.8's, so either library reads and writes the other's graphs): the
sorted set named after the graph holds, for each triple, three members with score 0, one per
rotation of its parts joined by ``::``: ``spo::<s>::<p>::<o>``, ``pos::<p>::<o>::<s>`` and
``osp::<o>::<s>::<p>``. Every combination of known parts is a prefix of one rotation (s+o
is ``osp::<o>::<s>::``), read with one ZRANGEBYLEX. One key per graph, so it works unchanged
on Redis Cluster (a whole graph lives on one shard).

The separator makes some values ambiguous, so they are refused before anything is written:
a value containing ``::``, or starting or ending with ``:`` (``("a:", "b")`` and
``("a", ":b")`` would both store ``a:::b``). Upstream accepted them and then misread them.

Fixed against upstream: ``query(s=..., o=...)`` returns the matching triples (upstream
looked up ``osp::<s>::<o>``, the reversed pair), values above U+00FF are found (the range
end is the byte 0xFF, which UTF-8 never contains, not the character U+00FF), and ``search``
joins variables across clauses (a binding must satisfy every clause together).

Written once as steps (``walrus.containers.running``): on an ``AsyncDatabase`` the methods
that reach Redis return awaitables of the same results, with the same round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .calls import Batch, Call, call, is_async_client
from .containers.running import Returns, command

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = ["Graph", "Variable", "VariableFactory"]

_SEP = "::"
_PARTS = ("s", "p", "o")
# Upstream's three rotations; each triple is stored once under each.
_ORDERS = ("spo", "pos", "osp")
# Which rotation serves a query, by the set of parts given: its known parts come first.
_ORDER_FOR = {
    frozenset(): "spo",
    frozenset("s"): "spo",
    frozenset("p"): "pos",
    frozenset("o"): "osp",
    frozenset("sp"): "spo",
    frozenset("so"): "osp",
    frozenset("po"): "pos",
}
# Members added per ZADD when storing many triples (3 per triple: 1000 triples).
_CHUNK = 3000


class Variable:
    """A named placeholder in ``Graph.search`` clauses; equal when the names are equal."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"variable name must be str, got {type(name).__name__}")
        if not name:
            raise ValueError("variable name must not be empty")
        self.name = name

    def __repr__(self) -> str:
        return f"<Variable {self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Variable) and other.name == self.name

    def __hash__(self) -> int:
        return hash((Variable, self.name))


class VariableFactory:
    """``graph.v.X`` and ``graph.v("X")`` both make ``Variable("X")``."""

    def __getattr__(self, name: str) -> Variable:
        if name.startswith("__"):
            raise AttributeError(name)
        return Variable(name)

    def __call__(self, name: str) -> Variable:
        return Variable(name)


def _check_value(part: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"graph {part} must be str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"graph {part} must not be empty")
    if _SEP in value or value[0] == ":" or value[-1] == ":":
        raise ValueError(
            f"graph {part} must not contain '::' nor start or end with ':' ('::' separates the "
            f"parts of a stored triple), got {value!r}"
        )
    return value


def _member(order: str, values: dict[str, str]) -> str:
    return _SEP.join([order, *(values[part] for part in order)])


class Graph:
    """A hexastore graph stored in the sorted set ``namespace``.

    >>> g = db.graph("people")
    >>> g.store("charlie", "friends", "huey")
    >>> g.query(s="charlie")
    [{'s': 'charlie', 'p': 'friends', 'o': 'huey'}]
    """

    def __init__(self, walrus: Database, namespace: str) -> None:
        if not isinstance(namespace, str):
            raise TypeError(f"graph namespace must be str, got {type(namespace).__name__}")
        if not namespace:
            raise ValueError("graph namespace must not be empty")
        self.walrus = self.database = walrus
        self.namespace = self.key = namespace
        self.v = VariableFactory()
        # On an AsyncDatabase each method below that reaches Redis returns an awaitable.
        self._async = is_async_client(walrus)

    _explain_error = None  # server errors are raised as they come (e.g. WRONGTYPE)

    def __repr__(self) -> str:
        return f"<Graph {self.namespace!r}>"

    # -- keys ----------------------------------------------------------------------------

    def keys_for_values(self, s: str, p: str, o: str) -> list[str]:
        """The three sorted-set members that store the triple (s, p, o). No Redis work."""
        values = {
            "s": _check_value("subject", s),
            "p": _check_value("predicate", p),
            "o": _check_value("object", o),
        }
        return [_member(order, values) for order in _ORDERS]

    def keys_for_query(
        self, s: str | None = None, p: str | None = None, o: str | None = None
    ) -> tuple[bytes, bytes | None]:
        """Where the triples matching the given parts live.

        All three given: ``(member, None)``. Otherwise ``(min, max)`` arguments for
        ZRANGEBYLEX covering every member with the right prefix.
        No Redis work.
        """
        given = _given(s, p, o)
        if len(given) == 3:
            return _member("spo", given).encode(), None
        order = _ORDER_FOR[frozenset(given)]
        known = [given[part] for part in order if part in given]
        prefix = _SEP.join([order, *known, ""]).encode()
        return b"[" + prefix, b"(" + prefix + b"\xff"

    # -- writes --------------------------------------------------------------------------

    @command
    def store(self, s: str, p: str, o: str) -> Returns[None]:
        """Store one triple. Cost: 1 round trip (one ZADD of its three members)."""
        members = self.keys_for_values(s, p, o)
        yield call.zadd(self.key, dict.fromkeys(members, 0))

    @command
    def store_many(self, *items: Any) -> Returns[None]:
        """Store several triples atomically: ``store_many([(s, p, o), ...])`` or
        ``store_many((s, p, o), (s, p, o), ...)``.

        Every triple is checked before anything is written. Cost: 1 round trip (one ZADD,
        or one MULTI/EXEC of ZADDs of 1000 triples each).
        """
        triples = _triples(items)
        members: list[str] = []
        for triple in triples:
            members.extend(self.keys_for_values(*triple))
        if not members:
            return
        if len(members) <= _CHUNK:
            yield call.zadd(self.key, dict.fromkeys(members, 0))
            return
        yield Batch(
            [
                call.zadd(self.key, dict.fromkeys(members[start : start + _CHUNK], 0))
                for start in range(0, len(members), _CHUNK)
            ],
            transaction=True,
        )

    @command
    def delete(self, s: str, p: str, o: str) -> Returns[bool]:
        """Remove a triple; True when it was stored. Cost: 1 round trip (one ZREM)."""
        members = self.keys_for_values(s, p, o)
        return bool((yield call.zrem(self.key, *members)))

    # -- reads ---------------------------------------------------------------------------

    @command
    def query(
        self, s: str | None = None, p: str | None = None, o: str | None = None
    ) -> Returns[list[dict[str, str]]]:
        """Triples matching the given parts (any combination, None = any), as dicts with
        keys ``s``, ``p``, ``o``, sorted by the ordering that served the query.

        Cost: 1 round trip (ZRANGEBYLEX, or ZSCORE when all three parts are given).
        """
        step, parse = self._read(s, p, o)
        return parse((yield step))

    @command
    def search(self, *conditions: Any) -> Returns[dict[str, set[str]]]:
        """Solve clauses with variables: each clause is a dict with keys among ``s``,
        ``p``, ``o`` (or an (s, p, o) tuple) whose values are strings, ``Variable``s
        (``graph.v.X``) or None. Returns ``{variable name: set of values}`` over the
        bindings that satisfy every clause at once.

        Cost: 1 round trip (all clauses' range reads in one pipeline); the join runs
        locally.
        """
        clauses = [_clause(condition) for condition in conditions]
        if not clauses:
            return {}
        reads = [
            self._read(**{part: value for part, value in clause.items() if isinstance(value, str)})
            for clause in clauses
        ]
        replies = yield Batch([step for step, _ in reads], transaction=False)
        parsers = [parse for _, parse in reads]
        # Bindings are tuples of values aligned with ``bound`` (variable names in the order
        # they were first met); each clause is hash-joined on the variables it shares.
        bound: list[str] = []
        bindings: set[tuple[str, ...]] = {()}
        for clause, parse, reply in zip(clauses, parsers, replies, strict=True):
            variables, rows = _bind_rows(clause, parse(reply))
            shared = [name for name in variables if name in bound]
            fresh = [name for name in variables if name not in bound]
            row_shared = [variables.index(name) for name in shared]
            row_fresh = [variables.index(name) for name in fresh]
            binding_shared = [bound.index(name) for name in shared]
            index: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
            for row in rows:
                key = tuple(row[i] for i in row_shared)
                index.setdefault(key, []).append(tuple(row[i] for i in row_fresh))
            bindings = {
                binding + extra
                for binding in bindings
                for extra in index.get(tuple(binding[i] for i in binding_shared), ())
            }
            bound.extend(fresh)
            if not bindings:
                break
        result: dict[str, set[str]] = {}
        for clause in clauses:
            for value in clause.values():
                if isinstance(value, Variable):
                    result.setdefault(value.name, set())
        for binding in bindings:
            for name, value in zip(bound, binding, strict=False):
                result[name].add(value)
        return result

    def _read(
        self, s: str | None = None, p: str | None = None, o: str | None = None
    ) -> tuple[Call, Callable[[Any], list[dict[str, str]]]]:
        """The read for the given parts (a step, not sent here) and the function turning
        its reply into triples. No Redis work."""
        low, high = self.keys_for_query(s, p, o)
        if high is None:
            triple = {"s": s or "", "p": p or "", "o": o or ""}
            return call.zscore(self.key, low), lambda reply: [] if reply is None else [dict(triple)]
        return call.zrangebylex(self.key, low, high), _parse_all


def _given(s: Any, p: Any, o: Any) -> dict[str, str]:
    given: dict[str, str] = {}
    for part, label, value in (("s", "subject", s), ("p", "predicate", p), ("o", "object", o)):
        if value is not None:
            given[part] = _check_value(label, value)
    return given


# Where s, p and o sit in a member split on the separator, for each rotation.
_POSITIONS = {order: tuple(order.index(part) + 1 for part in "spo") for order in _ORDERS}


def _parse(member: Any) -> dict[str, str] | None:
    parts = (member.decode("utf-8") if isinstance(member, bytes) else member).split(_SEP)
    if len(parts) != 4 or parts[0] not in _POSITIONS:
        # Only a value upstream let through ("a::b") splits otherwise: it cannot be read
        # back unambiguously, so it is left out rather than returned wrong.
        return None
    s, p, o = _POSITIONS[parts[0]]
    return {"s": parts[s], "p": parts[p], "o": parts[o]}


def _parse_all(reply: Any) -> list[dict[str, str]]:
    return [triple for triple in map(_parse, reply) if triple is not None]


def _triples(items: tuple[Any, ...]) -> list[tuple[str, str, str]]:
    if len(items) == 1 and not (isinstance(items[0], tuple) and _is_triple(items[0])):
        if isinstance(items[0], (str, bytes)) or not isinstance(items[0], Iterable):
            raise TypeError(
                "store_many expects (s, p, o) tuples or one iterable of them, "
                f"got {type(items[0]).__name__}"
            )
        items = tuple(items[0])
    triples = []
    for position, item in enumerate(items):
        if not _is_triple(item):
            raise TypeError(f"store_many item {position} must be an (s, p, o) tuple, got {item!r}")
        triples.append((item[0], item[1], item[2]))
    return triples


def _is_triple(item: Any) -> bool:
    return (
        isinstance(item, (tuple, list)) and len(item) == 3 and all(isinstance(v, str) for v in item)
    )


def _clause(condition: Any) -> dict[str, str | Variable]:
    if isinstance(condition, (tuple, list)):
        if len(condition) != 3:
            raise ValueError(f"search clause tuple must be (s, p, o), got {condition!r}")
        condition = dict(zip(_PARTS, condition, strict=True))
    if not isinstance(condition, Mapping):
        raise TypeError(
            f"search clause must be a dict or an (s, p, o) tuple, got {type(condition).__name__}"
        )
    clause: dict[str, str | Variable] = {}
    for part, value in condition.items():
        if part not in _PARTS:
            raise ValueError(f"search clause keys must be 's', 'p' or 'o', got {part!r}")
        if value is None:
            continue
        if isinstance(value, Variable):
            clause[part] = value
        else:
            clause[part] = _check_value(
                {"s": "subject", "p": "predicate", "o": "object"}[part], value
            )
    return clause


def _bind_rows(
    clause: dict[str, str | Variable], triples: list[dict[str, str]]
) -> tuple[list[str], set[tuple[str, ...]]]:
    """The clause's variable names (first-seen order) and the distinct value tuples the
    triples give them."""
    variables: list[str] = []
    parts: list[list[str]] = []  # for each variable, the triple parts it stands for
    for part, value in clause.items():
        if isinstance(value, Variable):
            if value.name not in variables:
                variables.append(value.name)
                parts.append([])
            parts[variables.index(value.name)].append(part)
    rows: set[tuple[str, ...]] = set()
    for triple in triples:
        values = []
        for where in parts:
            first = triple[where[0]]
            if any(triple[other] != first for other in where[1:]):
                break  # the same variable twice in a clause needs equal values
            values.append(first)
        else:
            rows.add(tuple(values))
    return variables, rows
