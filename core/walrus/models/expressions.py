"""Query expressions: ``Model.field == value``, ``&``, ``|``, ``.desc()`` and friends.

Building an expression sends nothing to Redis; ``Model.query`` compiles it into one Lua
script (see ``executor.py``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OP_AND",
    "OP_BETWEEN",
    "OP_EQ",
    "OP_GT",
    "OP_GTE",
    "OP_IN",
    "OP_LT",
    "OP_LTE",
    "OP_MATCH",
    "OP_NE",
    "OP_OR",
    "OP_STARTSWITH",
    "Desc",
    "Expression",
    "Node",
    "Operators",
]

OP_AND = "and"
"""Operator: Both operands match (``a & b``)."""
OP_OR = "or"
"""Operator: Either operand matches (``a | b``)."""
OP_EQ = "=="
"""Operator: ``field == value``."""
OP_NE = "!="
"""Operator: ``field != value`` (rows whose value is None match too)."""
OP_LT = "<"
"""Operator: ``field < value``."""
OP_LTE = "<="
"""Operator: ``field <= value``."""
OP_GT = ">"
"""Operator: ``field > value``."""
OP_GTE = ">="
"""Operator: ``field >= value``."""
OP_BETWEEN = "between"
"""Operator: ``field.between(low, high)``, both ends inclusive."""
OP_IN = "in"
"""Operator: ``field.in_(values)``."""
OP_STARTSWITH = "startswith"
"""Operator: ``field.startswith(prefix)`` (text fields)."""
OP_MATCH = "match"
"""Operator: A full-text search (``field.search(query)``)."""


class Node:
    """Something that can be combined with ``&`` (both must match) and ``|`` (either)."""

    def __and__(self, other: Node) -> Expression:
        _check_node(other, "&")
        return Expression(self, OP_AND, other)

    def __or__(self, other: Node) -> Expression:
        _check_node(other, "|")
        return Expression(self, OP_OR, other)

    def __rand__(self, other: Node) -> Expression:
        _check_node(other, "&")
        return Expression(other, OP_AND, self)

    def __ror__(self, other: Node) -> Expression:
        _check_node(other, "|")
        return Expression(other, OP_OR, self)


def _check_node(other: Any, op: str) -> None:
    if not isinstance(other, Expression):
        raise TypeError(
            f"{op} combines query expressions (e.g. (M.a == 1) {op} (M.b == 2)), "
            f"got {type(other).__name__}"
        )


class Expression(Node):
    """``lhs op rhs``: lhs is a field (or an Expression for ``and``/``or``)."""

    __slots__ = ("lhs", "op", "rhs")

    def __init__(self, lhs: Any, op: str, rhs: Any) -> None:
        self.lhs = lhs
        self.op = op
        self.rhs = rhs

    def __repr__(self) -> str:
        return f"<Expression {self.lhs!r} {self.op} {self.rhs!r}>"

    def __bool__(self) -> bool:
        raise TypeError(
            "a query expression has no truth value: combine expressions with & and |, "
            "not 'and'/'or', and compare fields inside Model.query(...)"
        )


class Desc:
    """Descending order on a field: ``order_by=Model.field.desc()``."""

    __slots__ = ("node",)

    def __init__(self, node: Any) -> None:
        self.node = node

    def __repr__(self) -> str:
        return f"<Desc {self.node!r}>"


class Operators:
    """Mixin giving fields their comparison operators. Which operators a field supports
    depends on its indexes; that is checked when the query runs (FilterError)."""

    # The query DSL: == builds an expression instead of a bool (as upstream walrus does).
    def __eq__(self, other: object) -> Expression:  # type: ignore[override]  # DSL, as upstream
        return Expression(self, OP_EQ, other)

    def __ne__(self, other: object) -> Expression:  # type: ignore[override]  # DSL, as upstream
        return Expression(self, OP_NE, other)

    def __lt__(self, other: Any) -> Expression:
        return Expression(self, OP_LT, other)

    def __le__(self, other: Any) -> Expression:
        return Expression(self, OP_LTE, other)

    def __gt__(self, other: Any) -> Expression:
        return Expression(self, OP_GT, other)

    def __ge__(self, other: Any) -> Expression:
        return Expression(self, OP_GTE, other)

    def __lshift__(self, other: Any) -> Expression:
        """``field << [a, b]`` is ``field.in_([a, b])`` (upstream's spelling)."""
        return self.in_(other)

    __hash__ = object.__hash__

    def between(self, low: Any, high: Any) -> Expression:
        """``low <= field <= high`` (both ends inclusive). No Redis work: builds an
        expression."""
        return Expression(self, OP_BETWEEN, (low, high))

    def in_(self, values: Any) -> Expression:
        """The field equals any of ``values`` (an iterable, not a str). No Redis work:
        builds an expression."""
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"in_() takes an iterable of values, got {type(values).__name__}")
        return Expression(self, OP_IN, tuple(values))

    def startswith(self, prefix: Any) -> Expression:
        """The (text) field starts with ``prefix``. No Redis work: builds an expression."""
        return Expression(self, OP_STARTSWITH, prefix)

    def desc(self) -> Desc:
        """This field in descending order, for ``order_by``. No Redis work."""
        return Desc(self)

    def asc(self) -> Any:
        """This field in ascending order (the field itself). No Redis work."""
        return self
