"""Compile a query expression into ``model_query.lua`` and run it (1 round trip).

The filter is evaluated by Redis over the indexes: a set per value (==, in_), the
continuous sorted set (ranges), the lexicographic sorted set (text ranges, startswith) and
the per-token full-text sets (search). Ordering by a field uses SORT BY on one server;
Redis Cluster refuses SORT BY, so there the script sorts the (same-slot) rows itself.
``!=`` is "every row minus the equal ones", so rows whose value is None match it, as in
Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..calls import Call, call
from ..search.plan import TokenQuery
from .errors import FilterError
from .expressions import (
    OP_AND,
    OP_BETWEEN,
    OP_EQ,
    OP_GT,
    OP_GTE,
    OP_IN,
    OP_LT,
    OP_LTE,
    OP_MATCH,
    OP_NE,
    OP_OR,
    OP_STARTSWITH,
    Desc,
    Expression,
)
from .fields import ABSOLUTE, CONTINUOUS, FTS, LEX, Field, _ContainerField
from .layout import temp_key

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = [
    "PAGE_ROWS",
    "UNORDERED",
    "Plan",
    "compile_plan",
    "matches",
    "merge_bounds",
    "order_spec",
    "plan_call",
]

TEMP_TTL_MS = 60_000
MAX_IN_VALUES = 1000
# Rows a query script reads (HGETALL) and returns with the keys: about 0.5 ms of server
# time for rows of a few short fields, so one page never holds the server for long; the
# remaining rows come in pipelined pages of the same size (1 round trip each).
PAGE_ROWS = 500
"""Rows the query script returns with the keys; further rows come this many per round trip."""
_RANGE_OPS = (OP_LT, OP_LTE, OP_GT, OP_GTE, OP_BETWEEN)


class _Temp:
    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


class Plan:
    """KEYS and postfix program of one query, plus the full-text queries needing a Python
    check of phrase adjacency on the fetched rows."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.keys: list[bytes] = [model._make_key("all")]
        self._pos: dict[bytes, int] = {self.keys[0]: 1}
        self.ops: list[Any] = []
        self.temps = 0
        self.scored = False
        self.needs_verification = False

    def key(self, key: bytes) -> int:
        """The 1-based KEYS position of ``key`` (added on first use). No Redis work."""
        if key not in self._pos:
            self.keys.append(key)
            self._pos[key] = len(self.keys)
        return self._pos[key]

    def temp(self) -> _Temp:
        """A new query temporary (its KEYS slot follows the plan's keys). No Redis work."""
        self.temps += 1
        return _Temp(self.temps - 1)

    def finish(self) -> tuple[list[Any], int, list[Any]]:
        """KEYS with fresh temporary names, the position of the first temporary, and the
        program with temporaries resolved to their positions. No Redis work."""
        first = len(self.keys) + 1
        keys: list[Any] = list(self.keys) + [temp_key(self.model) for _ in range(self.temps)]
        ops = [first + op.n if isinstance(op, _Temp) else op for op in self.ops]
        return keys, first, ops


def _field_of(model: type[Model], node: Any) -> Field:
    if not isinstance(node, Field) or isinstance(node, _ContainerField):
        raise FilterError(f"cannot filter on {node!r}: expected a field of {model.__name__}")
    if (
        node.model is None
        or not issubclass(model, node.model)
        or model._fields.get(node.name) is not node
    ):
        raise FilterError(f"field {node!r} does not belong to model {model.__name__}")
    return node


def _need(field: Field, kind: str, op: str) -> None:
    if kind not in field.indexes:
        if not field.indexes:
            owner = cast("type[Model]", field.model)  # a field of the queried model
            raise FilterError(
                f"cannot filter on {owner.__name__}.{field.name}: it is not indexed "
                "(declare it with index=True)"
            )
        what = {
            CONTINUOUS: "a numeric/date (range) index",
            LEX: "a text index",
            FTS: "a full-text index (TextField(fts=True))",
            ABSOLUTE: "an equality index",
        }[kind]
        raise FilterError(f"operator {op!r} on field {field.name!r} needs {what}")


def _eq(plan: Plan, field: Field, value: Any, op: str) -> None:
    raw = field.query_value(value)
    kinds = field.indexes
    if ABSOLUTE in kinds and (field.eq_index == ABSOLUTE or CONTINUOUS not in kinds):
        key = plan.model._make_key(field.name, ABSOLUTE, field.index_value(raw))
        plan.ops.extend(("K", plan.key(key)))
    elif CONTINUOUS in kinds:
        plan.ops.extend(
            ("R", plan.key(plan.model._make_key(field.name, CONTINUOUS)), raw, raw, plan.temp())
        )
    elif LEX in kinds:  # __compact_indexes__: the members "value\0row key" of this value
        low, high = b"[" + raw + b"\x00", b"(" + raw + b"\x01"
        plan.ops.extend(
            ("X", plan.key(plan.model._make_key(field.name, LEX)), low, high, plan.temp())
        )
    else:
        _need(field, ABSOLUTE, op)


def _score_bounds(field: Field, op: str, value: Any) -> tuple[bytes, bytes]:
    """ZRANGEBYSCORE bounds of a range (or continuous equality) on ``field``."""
    if op == OP_EQ:
        raw = field.query_value(value)
        return raw, raw
    if op == OP_BETWEEN:
        low, high = (field.query_value(v) for v in _pair(value))
        return low, high
    raw = field.query_value(value)
    return {
        OP_LT: (b"-inf", b"(" + raw),
        OP_LTE: (b"-inf", raw),
        OP_GT: (b"(" + raw, b"+inf"),
        OP_GTE: (raw, b"+inf"),
    }[op]


def _range(plan: Plan, field: Field, op: str, value: Any) -> None:
    if CONTINUOUS in field.indexes:
        low, high = _score_bounds(field, op, value)
        plan.ops.extend(
            ("R", plan.key(plan.model._make_key(field.name, CONTINUOUS)), low, high, plan.temp())
        )
        return
    _need(field, LEX, op)
    if op == OP_BETWEEN:
        lo, hi = (field.query_value(v) for v in _pair(value))
        low, high = b"[" + lo + b"\x00", b"(" + hi + b"\x01"
    else:
        raw = field.query_value(value)
        low, high = {
            OP_LT: (b"-", b"(" + raw + b"\x00"),
            OP_LTE: (b"-", b"(" + raw + b"\x01"),
            OP_GT: (b"[" + raw + b"\x01", b"+"),
            OP_GTE: (b"[" + raw + b"\x00", b"+"),
        }[op]
    plan.ops.extend(("X", plan.key(plan.model._make_key(field.name, LEX)), low, high, plan.temp()))


def _score_range_field(model: type[Model], node: Any) -> Field | None:
    """The field of ``node`` when it reads one score range of its range index (a range
    operator, or == on a field whose equality uses that index), else None."""
    if not isinstance(node, Expression) or node.op not in (*_RANGE_OPS, OP_EQ):
        return None
    field = _field_of(model, node.lhs)
    if CONTINUOUS not in field.indexes:
        return None
    if node.op == OP_EQ and ABSOLUTE in field.indexes and field.eq_index == ABSOLUTE:
        return None
    return field


def _parse_bound(raw: bytes) -> tuple[float, bool]:
    exclusive = raw.startswith(b"(")
    return float(raw[1:] if exclusive else raw), exclusive


def merge_bounds(bounds: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """One ZRANGEBYSCORE range equal to the intersection of ``bounds`` (the tightest low
    and high ends; an empty intersection stays a valid, empty range). No Redis work."""
    low, high = bounds[0]
    for other_low, other_high in bounds[1:]:
        a, b = _parse_bound(low), _parse_bound(other_low)
        if b[0] > a[0] or (b[0] == a[0] and b[1]):
            low = other_low
        a, b = _parse_bound(high), _parse_bound(other_high)
        if b[0] < a[0] or (b[0] == a[0] and b[1]):
            high = other_high
    return low, high


def _merge_ranges(plan: Plan, children: list[Any]) -> list[Any]:
    """Replace the score ranges on one field among the children of an AND by one merged
    range (``(a >= 1) & (a < 5)`` reads the index once, like ``between``)."""
    groups: dict[str, list[tuple[bytes, bytes]]] = {}
    first: dict[str, int] = {}
    fields: dict[str, Field] = {}
    for position, child in enumerate(children):
        field = _score_range_field(plan.model, child)
        if field is None:
            continue
        groups.setdefault(field.name, []).append(_score_bounds(field, child.op, child.rhs))
        first.setdefault(field.name, position)
        fields[field.name] = field
    if all(len(g) < 2 for g in groups.values()):
        return children
    merged: list[Any] = []
    for position, child in enumerate(children):
        field = _score_range_field(plan.model, child)
        if field is None or len(groups[field.name]) < 2:
            merged.append(child)
        elif first[field.name] == position:
            merged.append(_MergedRange(field, merge_bounds(groups[field.name])))
    return merged


class _MergedRange:
    """Several bounds on one field, merged into one score range (an AND child)."""

    __slots__ = ("bounds", "field")

    def __init__(self, field: Field, bounds: tuple[bytes, bytes]) -> None:
        self.field = field
        self.bounds = bounds


def _pair(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, tuple) or len(value) != 2:
        raise TypeError(f"between() takes two values, got {value!r}")
    return value


def _compile(plan: Plan, node: Any) -> bool:
    """Emit ``node``; return whether its result carries full-text scores."""
    if isinstance(node, _MergedRange):
        key = plan.model._make_key(node.field.name, CONTINUOUS)
        plan.ops.extend(("R", plan.key(key), *node.bounds, plan.temp()))
        return False
    if not isinstance(node, Expression):
        raise TypeError(
            f"a query filter must be an expression such as Model.field == value, got {node!r}"
        )
    if node.op in (OP_AND, OP_OR):
        return _compile_combination(plan, node)
    return _compile_comparison(plan, node)


def _operands(node: Expression) -> list[Any]:
    """The operands of a chain of one operator: ``a & b & c`` -> [a, b, c]."""
    children: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Expression) and current.op == node.op:
            stack.extend((current.rhs, current.lhs))
        else:
            children.append(current)
    return children


def _compile_combination(plan: Plan, node: Expression) -> bool:
    """Emit an AND or OR as one ZINTERSTORE / ZUNIONSTORE of its flattened operands."""
    children = _operands(node)
    if node.op == OP_AND:
        children = _merge_ranges(plan, children)
        if len(children) == 1:
            return _compile(plan, children[0])
    scored = [_compile(plan, child) for child in children]
    plan.ops.extend(("&" if node.op == OP_AND else "|", len(children), plan.temp()))
    plan.ops.extend("1" if s else "0" for s in scored)
    return any(scored)


def _compile_comparison(plan: Plan, node: Expression) -> bool:
    """Emit ``field <op> value``; return whether it carries full-text scores."""
    field = _field_of(plan.model, node.lhs)
    op = node.op
    if op == OP_EQ:
        _eq(plan, field, node.rhs, op)
    elif op == OP_NE:
        plan.ops.extend(("K", 1))
        _eq(plan, field, node.rhs, op)
        plan.ops.extend(("D", plan.temp()))
    elif op == OP_IN:
        _in(plan, field, node.rhs, op)
    elif op in _RANGE_OPS:
        _range(plan, field, op, node.rhs)
    elif op == OP_STARTSWITH:
        _need(field, LEX, op)
        prefix = field.query_value(node.rhs)
        low, high = (b"[" + prefix, b"(" + prefix + b"\xff") if prefix else (b"-", b"+")
        plan.ops.extend(
            ("X", plan.key(plan.model._make_key(field.name, LEX)), low, high, plan.temp())
        )
    elif op == OP_MATCH:
        _need(field, FTS, op)
        return _compile_fts(plan, field, node.rhs)
    else:
        raise FilterError(f"unknown operator {op!r}")
    return False


def _in(plan: Plan, field: Field, rhs: Any, op: str) -> None:
    """Emit ``field.in_(values)``: the union of each value's equality (empty for none)."""
    values = tuple(rhs)
    if len(values) > MAX_IN_VALUES:
        raise FilterError(f"in_() takes at most {MAX_IN_VALUES} values, got {len(values)}")
    if not values:
        plan.ops.extend(("E", plan.temp()))
        return
    for value in values:
        _eq(plan, field, value, op)
    if len(values) > 1:
        plan.ops.extend(("|", len(values), plan.temp(), *(["0"] * len(values))))


def _compile_fts(plan: Plan, field: Field, query: TokenQuery) -> bool:
    if query.needs_verification:
        plan.needs_verification = True

    def emit(tree: Any) -> None:
        if isinstance(tree, str):
            plan.ops.extend(("K", plan.key(plan.model._make_key(field.name, FTS, tree))))
            return
        op, children = tree
        for child in children:
            emit(child)
        plan.ops.extend((op, len(children), plan.temp(), *(["1"] * len(children))))

    if query.tree is None:
        plan.ops.extend(("E", plan.temp()))
    else:
        emit(query.tree)
    return True


def compile_plan(model: type[Model], expression: Any) -> Plan:
    """Build the plan of ``expression`` (None: every row). No round trip."""
    plan = Plan(model)
    if expression is not None:
        plan.scored = _compile(plan, expression)
    return plan


def order_spec(model: type[Model], order_by: Any) -> tuple[str, str, str]:
    """(SORT BY pattern, "alpha"|"num", "asc"|"desc") for ``order_by`` (None: primary key).
    No Redis work."""
    direction = "asc"
    if isinstance(order_by, Desc):
        direction, order_by = "desc", order_by.node
    if order_by is None:
        order_by = model._fields[model._primary_key]
    if isinstance(order_by, str):
        if order_by.startswith("-"):
            direction, order_by = "desc", order_by[1:]
        if order_by not in model._fields:
            raise FilterError(f"cannot order {model.__name__} by unknown field {order_by!r}")
        order_by = model._fields[order_by]
    field = _field_of(model, order_by)
    numeric = CONTINUOUS in field.index_kinds
    return f"*->{field.name}", "num" if numeric else "alpha", direction


def _order_args(plan: Plan, order: tuple[str, str, str] | None, by_score: bool) -> list[Any]:
    """ARGV[4..7] and ARGV[11..12] of the script for this order."""
    model = plan.model
    pattern, alpha, direction = order or order_spec(model, None)
    name = pattern[3:]
    kind = "field"
    if by_score:
        kind = "score"
    elif name == model._primary_key:
        kind = "pk"  # read from the row key: no HGET per row
    elif order == UNORDERED:
        kind = "none"
    index = 0
    if kind == "field" and CONTINUOUS in model._fields[name].indexes:
        index = plan.key(model._make_key(name, CONTINUOUS))
    return [kind, pattern, alpha, direction, len(model._make_key("id", b"")), index]


UNORDERED = ("", "alpha", "asc")
"""``order`` value asking for no order at all (index order; used where order is irrelevant)."""


def plan_call(
    plan: Plan,
    *,
    mode: str,
    order: tuple[str, str, str] | None,
    by_score: bool,
    offset: int = 0,
    limit: int | None = None,
    page: int = PAGE_ROWS,
) -> Call:
    """The ``model_query`` script call running the plan (a step for either client): its
    reply is the matching row keys (mode "keys"), their number ("count"), or ``[keys, first
    page of rows]`` ("rows": at most ``page`` rows read, each the values of the model's
    stored fields in order, [] for a row that vanished). No Redis work: sending it is 1
    round trip."""
    database = plan.model.__database__
    kind, pattern, alpha, direction, prefix_len, index = _order_args(plan, order, by_score)
    keys, first, ops = plan.finish()
    args: list[Any] = [
        TEMP_TTL_MS,
        first,
        mode,
        kind,
        pattern or "-",
        alpha,
        direction,
        offset,
        -1 if limit is None else limit,
        "lua" if getattr(database, "is_cluster", False) else "sort",
        prefix_len,
        index,
        page,
        len(plan.model._stored) if mode == "rows" else 0,
        *(plan.model._stored if mode == "rows" else ()),
        *ops,
    ]
    return call.run_script("model_query", keys=keys, args=args)


def matches(expression: Any, instance: Any) -> bool:
    """Evaluate ``expression`` on a loaded instance in Python, with the index's semantics
    (used to check full-text phrases on fetched rows). No round trip."""
    if expression is None:
        return True
    op = expression.op
    if op == OP_AND:
        return matches(expression.lhs, instance) and matches(expression.rhs, instance)
    if op == OP_OR:
        return matches(expression.lhs, instance) or matches(expression.rhs, instance)
    field: Field = expression.lhs
    current = instance._data.get(field.name)
    if op == OP_MATCH:
        return current is not None and expression.rhs.matches(current)
    raw = None if current is None else field.db_value(current)
    numeric = CONTINUOUS in field.indexes

    def key(value: bytes) -> Any:
        return float(value) if numeric else value

    if op == OP_EQ:
        return raw is not None and key(raw) == key(field.query_value(expression.rhs))
    if op == OP_NE:
        return raw is None or key(raw) != key(field.query_value(expression.rhs))
    if op == OP_IN:
        return raw is not None and any(
            key(raw) == key(field.query_value(v)) for v in expression.rhs
        )
    if raw is None:
        return False
    if op == OP_STARTSWITH:
        return raw.startswith(field.query_value(expression.rhs))
    if op == OP_BETWEEN:
        low, high = (key(field.query_value(v)) for v in expression.rhs)
        return bool(low <= key(raw) <= high)
    other = key(field.query_value(expression.rhs))
    return bool(
        {
            OP_LT: key(raw) < other,
            OP_LTE: key(raw) <= other,
            OP_GT: key(raw) > other,
            OP_GTE: key(raw) >= other,
        }[op]
    )
