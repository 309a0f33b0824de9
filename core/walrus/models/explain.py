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
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, cast

from ..calls import Batch, Call, call
from .executor import PAGE_ROWS, UNORDERED, Plan, _order_args
from .writer import run_model

if TYPE_CHECKING:  # pragma: no cover
    from .collection import ModelQuery

__all__ = ["explain_query", "explain_steps"]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _sizes_steps(plan: Plan) -> Generator[Batch, Any, dict[tuple[Any, ...], int]]:
    """Size of every index the plan reads, keyed by (op, position, min, max). 1 round trip."""
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
    reads: list[Call] = []
    for op, position, low, high in wanted:
        key = plan.keys[position - 1]
        if op == "K":
            reads.extend((call.scard(key), call.zcard(key)))
        elif op == "R":
            reads.append(call.zcount(key, low, high))
        else:
            reads.append(call.zlexcount(key, low, high))
    replies = yield Batch(reads, transaction=False, raise_on_error=False)
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


# What an operation leaves for the next: (rows, is a lazy score range, its index key).
_Item = tuple[int, bool, "bytes | None"]


class _Steps:
    """The steps explained so far."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, step: str, rows: int, cost: float, **detail: Any) -> None:
        self.items.append({"step": step, "rows": rows, "cost": int(math.ceil(cost)), **detail})


def explain_query(query: ModelQuery) -> list[dict[str, Any]]:
    """The steps of ``query`` (see the module docstring); the last item is the total.
    1 round trip (index sizes); nothing is written and no row is read."""
    return cast("list[dict[str, Any]]", run_model(query.model, explain_steps(query)))


def explain_steps(query: ModelQuery) -> Generator[Batch, Any, list[dict[str, Any]]]:
    """``explain_query`` as steps, for either client. Cost: 1 round trip."""
    from .executor import compile_plan

    plan = compile_plan(query.model, query.expression)
    order_args = _order_args(plan, query._order, plan.scored and query._order is None)
    sizes = yield from _sizes_steps(plan)
    steps = _Steps()
    stack = _filter_steps(plan, sizes, steps)
    if stack:
        last = stack[0]
    else:
        last = (sizes[("K", 1, "", "")], False, None)
        steps.add("read set", last[0], 0, key=_text(plan.keys[0]))
    rows, offset, limit = last[0], query.offset, query.limit
    wanted = max(0, rows - offset) if limit is None else max(0, min(limit, rows - offset))
    _order_step(steps, plan, query, order_args, last, wanted)
    _read_steps(steps, wanted)
    total = {"step": "total", "rows": wanted, "cost": sum(s["cost"] for s in steps.items)}
    return [*steps.items, total]


def _filter_steps(plan: Plan, sizes: dict[tuple[Any, ...], int], steps: _Steps) -> list[_Item]:
    """Explain the filter program, operation by operation; what it leaves on its stack."""
    stack: list[_Item] = []
    ops = plan.ops
    i = 0
    while i < len(ops):
        op = ops[i]
        if op == "K":
            key = plan.keys[ops[i + 1] - 1]
            rows = sizes[("K", ops[i + 1], "", "")]
            steps.add("read set", rows, 0, key=_text(key))
            stack.append((rows, False, None))
            i += 2
        elif op in ("R", "X"):
            stack.append(_range_step(plan, sizes, steps, ops[i : i + 4]))
            i += 5
        elif op == "D":
            b, a = stack.pop(), stack.pop()
            steps.add("difference (stored)", a[0], a[0] + b[0])
            stack.append((a[0], False, None))
            i += 2
        elif op in ("&", "|"):
            n = int(ops[i + 1])
            items, stack = stack[-n:], stack[:-n]
            combine = _union_step if op == "|" else _intersection_step
            stack.append(combine(steps, items, n))
            i += 3 + n
        else:  # "E"
            steps.add("empty", 0, 0)
            stack.append((0, False, None))
            i += 2
    return stack


def _range_step(
    plan: Plan, sizes: dict[tuple[Any, ...], int], steps: _Steps, op: list[Any]
) -> _Item:
    """A score range (read lazily) or a text range (stored): ``op`` is (R|X, key, min, max)."""
    kind, position, low, high = op
    key = plan.keys[position - 1]
    rows = sizes[(kind, position, low, high)]
    bounds = {"key": _text(key), "min": _text(low), "max": _text(high)}
    if kind == "R":
        steps.add("score range", rows, math.log2(2 + rows), **bounds)
        return (rows, True, key)
    steps.add("text range (stored)", rows, 2 * rows, **bounds)
    return (rows, False, None)


def _union_step(steps: _Steps, items: list[_Item], n: int) -> _Item:
    total = sum(item[0] for item in items)
    copied = sum(item[0] for item in items if item[1])
    steps.add("union (stored)", total, total + copied, operands=n)
    return (total, False, None)


def _intersection_step(steps: _Steps, items: list[_Item], n: int) -> _Item:
    """The script starts from the smallest operand (storing a range only when it is the
    smallest) and checks the remaining ranges per row."""
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
        "intersection of the stored operands" if len(stored) > 1 else "copy of the smallest operand"
    )
    if ranges:
        cost += base * len(ranges)
        how += f", rows checked against {len(ranges)} range(s) with ZSCORE"
    steps.add("intersection (stored)", base, cost, operands=n, method=how)
    return (base, False, None)


def _order_step(
    steps: _Steps,
    plan: Plan,
    query: ModelQuery,
    order_args: list[Any],
    last: _Item,
    wanted: int,
) -> None:
    """How the matching rows are ordered (and offset) before they are read."""
    kind, pattern, _alpha, direction, _prefix, index = order_args
    rows, lazy, range_key = last
    offset = query.offset
    sort_cost = rows * math.log2(2 + rows)
    if kind == "field" and lazy and index and plan.keys[index - 1] == range_key:
        steps.add(
            "read in index order", wanted, offset + wanted, order=pattern[3:], direction=direction
        )
    elif kind == "field":
        steps.add("sort by field", wanted, rows + sort_cost, order=pattern[3:], direction=direction)
    elif kind == "score":
        steps.add("order by relevance", wanted, offset + wanted)
    elif kind == "none" or query._order == UNORDERED:
        steps.add("no order", wanted, rows)
    else:
        steps.add("sort by primary key (from the row keys)", wanted, sort_cost, direction=direction)


def _read_steps(steps: _Steps, wanted: int) -> None:
    """Reading the rows: a page inside the script, then further pages."""
    page = min(wanted, PAGE_ROWS)
    steps.add("read rows (HMGET) in the script", page, page, page_size=PAGE_ROWS)
    if wanted > page:
        extra = wanted - page
        steps.add(
            "read further pages (model_rows.lua)",
            extra,
            extra,
            round_trips=math.ceil(extra / PAGE_ROWS),
        )
