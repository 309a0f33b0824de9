"""Query expression names at their upstream location (``walrus.query.OP_AND`` ...).

The classes live in ``walrus.models.expressions``; this module re-exports them.
"""

from .models.expressions import (
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
    Node,
)

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
]
