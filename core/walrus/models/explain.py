"""``ModelQuery.explain()``: the steps ``model_query.lua`` will take for a query, with the
rows each step yields and its estimated cost.

The estimate reads the size of every index the plan touches (SCARD/ZCARD, ZCOUNT for a
score range, ZLEXCOUNT for a text range) in one pipelined round trip, then follows the
script's own choices: a score range is not copied unless an operation needs it stored, and
an intersection starts from its smallest operand and checks the remaining ranges per row.
Cost is counted in index entries or rows touched (a ZSCORE check or an HGETALL is 1, a
sort of n rows is n*log2(n)): compare plans with it, it is not a time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .executor import PAGE_ROWS, UNORDERED, Plan, _order_args

if TYPE_CHECKING:  # pragma: no cover
    from .collection import ModelQuery

__all__ = ["explain_query"]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _sizes(plan: Plan) -> dict[tuple[Any, ...], int]:
    """Size of every index the plan reads, keyed by (op, position, min, max). 1 round trip."""
    database = plan.model._db()
    wanted: list[tuple[Any, ...]] = [("K", 1, "", "")]
    ops = plan.ops
    i = 0
    while i < len(ops):
        op = ops[i]
        if op == "K":
            wanted.append(("K", ops[i + 1], "", ""))
            i += 2
        elif op in ("R", "X"):
            wanted.append((op, ops[i + 1], ops[i + 2], ops[i + 3]))
            i += 5
        elif op in ("&", "|"):
            i += 3 + int(ops[i + 1])
        else:  # "D", "E"
            i += 2
    pipe = database.pipeline(transaction=False)
    for op, position, low, high in wanted:
        key = plan.keys[position - 1]
        if op == "K":
            pipe.scard(key)
            pipe.zcard(key)
        elif op == "R":
            pipe.zcount(key, low, high)
        else:
            pipe.zlexcount(key, low, high)
    replies = pipe.execute(raise_on_error=False)
    sizes: dict[tuple[Any, ...], int] = {}
    j = 0
    for item in wanted:
        if item[0] == "K":
            found = [r for r in replies[j : j + 2] if isinstance(r, int)]
            sizes[item] = max(found) if found else 0
            j += 2
        else:
            sizes[item] = int(replies[j]) if isinstance(replies[j], int) else 0
            j += 1
    return sizes


def explain_query(query: ModelQuery) -> list[dict[str, Any]]:
    """The steps of ``query`` (see the module docstring); the last item is the total.
    1 round trip (index sizes); nothing is written and no row is read."""
    from .executor import compile_plan

    plan = compile_plan(query.model, query.expression)
    order = query._order
    kind, pattern, _alpha, direction, _prefix, index = _order_args(
        plan, order, plan.scored and order is None
    )
    sizes = _sizes(plan)
    steps: list[dict[str, Any]] = []
    # Stack items: (rows, is_lazy_range, range index key or None, step number)
    stack: list[tuple[int, bool, bytes | None]] = []
    ops = plan.ops
    i = 0

    def add(step: str, rows: int, cost: float, **detail: Any) -> None:
        steps.append({"step": step, "rows": rows, "cost": int(math.ceil(cost)), **detail})

    while i < len(ops):
        op = ops[i]
        if op == "K":
            key = plan.keys[ops[i + 1] - 1]
            rows = sizes[("K", ops[i + 1], "", "")]
            add("read set", rows, 0, key=_text(key))
            stack.append((rows, False, None))
            i += 2
        elif op == "R":
            key = plan.keys[ops[i + 1] - 1]
            rows = sizes[("R", ops[i + 1], ops[i + 2], ops[i + 3])]
            add(
                "score range",
                rows,
                math.log2(2 + rows),
                key=_text(key),
                min=_text(ops[i + 2]),
                max=_text(ops[i + 3]),
            )
            stack.append((rows, True, key))
            i += 5
        elif op == "X":
            key = plan.keys[ops[i + 1] - 1]
            rows = sizes[("X", ops[i + 1], ops[i + 2], ops[i + 3])]
            add(
                "text range (stored)",
                rows,
                2 * rows,
                key=_text(key),
                min=_text(ops[i + 2]),
                max=_text(ops[i + 3]),
            )
            stack.append((rows, False, None))
            i += 5
        elif op == "D":
            b, a = stack.pop(), stack.pop()
            add("difference (stored)", a[0], a[0] + b[0])
            stack.append((a[0], False, None))
            i += 2
        elif op in ("&", "|"):
            n = int(ops[i + 1])
            items, stack = stack[-n:], stack[:-n]
            if op == "|":
                total = sum(item[0] for item in items)
                copied = sum(item[0] for item in items if item[1])
                add("union (stored)", total, total + copied, operands=n)
                stack.append((total, False, None))
            else:
                stored = sorted(item[0] for item in items if not item[1])
                ranges = sorted(item[0] for item in items if item[1])
                cost = 0.0
                if ranges and (not stored or ranges[0] < stored[0]):
                    cost += ranges[0]
                    stored = sorted([*stored, ranges.pop(0)])
                base = stored[0]
                if len(stored) > 1:
                    cost += base * len(stored)
                how = (
                    "intersection of the stored operands"
                    if len(stored) > 1
                    else "copy of the smallest operand"
                )
                if ranges:
                    cost += base * len(ranges)
                    how += f", rows checked against {len(ranges)} range(s) with ZSCORE"
                add("intersection (stored)", base, cost, operands=n, method=how)
                stack.append((base, False, None))
            i += 3 + n
        else:  # "E"
            add("empty", 0, 0)
            stack.append((0, False, None))
            i += 2
    rows, lazy, range_key = stack[0] if stack else (sizes[("K", 1, "", "")], False, None)
    if not stack:
        add("read set", rows, 0, key=_text(plan.keys[0]))
    offset, limit = query.offset, query.limit
    wanted = max(0, rows - offset) if limit is None else max(0, min(limit, rows - offset))
    sort_cost = rows * math.log2(2 + rows)
    if kind == "field" and lazy and index and plan.keys[index - 1] == range_key:
        add("read in index order", wanted, offset + wanted, order=pattern[3:], direction=direction)
    elif kind == "field":
        add("sort by field", wanted, rows + sort_cost, order=pattern[3:], direction=direction)
    elif kind == "score":
        add("order by relevance", wanted, offset + wanted)
    elif kind == "none" or order == UNORDERED:
        add("no order", wanted, rows)
    else:
        add("sort by primary key (from the row keys)", wanted, sort_cost, direction=direction)
    page = min(wanted, PAGE_ROWS)
    add("read rows (HMGET) in the script", page, page, page_size=PAGE_ROWS)
    if wanted > page:
        extra = wanted - page
        add(
            "read further pages (model_rows.lua)",
            extra,
            extra,
            round_trips=math.ceil(extra / PAGE_ROWS),
        )
    steps.append({"step": "total", "rows": wanted, "cost": sum(s["cost"] for s in steps)})
    return steps
