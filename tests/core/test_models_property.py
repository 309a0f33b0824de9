"""walrus.models: differential tests. A random subset of field types makes a model; random
rows, updates and deletes fill it; random expressions (==, !=, ranges, between, in_,
startswith, full-text search, & and |), a random order (any field, asc or desc) and a
random slice are run by Redis and compared with the same query evaluated in Python."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walrus import Database
from walrus.models import (
    BooleanField,
    DateField,
    DateTimeField,
    Field,
    FloatField,
    IntegerField,
    Model,
    TextField,
    UUIDField,
)

NAMES = ["", "a", "ab", "abc", "b", "ba", "é", "éa", "z"]
WORDS = ["walrus", "redis", "python", "tusk", "ocean"]
MOMENTS = [
    datetime.datetime(1969, 12, 31, 23, 59, 59, 500000),
    datetime.datetime(2020, 1, 1),
    datetime.datetime(2020, 1, 1, 0, 0, 0, 1),
    datetime.datetime(2024, 2, 29, 12, 30),
]
DAYS = [
    datetime.date(1969, 12, 31),
    datetime.date(1970, 1, 1),
    datetime.date(2020, 1, 2),
    datetime.date(2024, 2, 29),
]
IDENTS = [uuid.UUID(int=n) for n in (1, 2, 3**40)]

COMPARE = ["==", "!=", "<", "<=", ">", ">=", "between", "in"]
EQUALITY = ["==", "!=", "in"]


class Kind:
    """One field of the pool: how to declare it, its values and the operators it supports."""

    def __init__(
        self,
        make: Callable[[], Field],
        values: list[Any],
        ops: list[str],
        operands: list[Any] | None = None,
    ) -> None:
        self.make = make
        self.values = values
        self.ops = ops
        self.operands = operands or values


POOL: dict[str, Kind] = {
    "name": Kind(lambda: TextField(index=True), NAMES, [*COMPARE, "startswith"]),
    "num": Kind(lambda: IntegerField(index=True), list(range(-3, 4)), COMPARE, list(range(-4, 5))),
    "real": Kind(
        lambda: FloatField(index=True),
        [-1.5, 0.0, 0.1, 2.25, 1e10],
        COMPARE,
        [-1.5, 0.0, 0.1, 3.0, 1e10],
    ),
    "flag": Kind(lambda: BooleanField(index=True), [False, True], EQUALITY),
    "when": Kind(lambda: DateTimeField(index=True), MOMENTS, COMPARE),
    "day": Kind(lambda: DateField(index=True), DAYS, COMPARE),
    "ident": Kind(lambda: UUIDField(index=True), IDENTS, EQUALITY),
    "words": Kind(
        lambda: TextField(fts=True, stemmer=False, stopwords_file=False),
        [" ".join(ws) for ws in ([], ["walrus"], ["redis", "tusk"], ["ocean", "walrus", "python"])],
        ["search"],
        WORDS,
    ),
}


def make_model(db: Database, names: list[str]) -> type[Model]:
    attrs: dict[str, Any] = {"__database__": db}
    attrs.update({name: POOL[name].make() for name in names})
    return type("Row", (Model,), attrs)


def row_st(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {n: st.one_of(st.none(), st.sampled_from(POOL[n].values)) for n in names}
    )


def expr_st(names: list[str]) -> st.SearchStrategy[tuple[Any, ...]]:
    def leaf(name: str) -> st.SearchStrategy[tuple[Any, ...]]:
        kind = POOL[name]
        operand = st.sampled_from(kind.operands)
        return st.tuples(
            st.just(name),
            st.sampled_from(kind.ops),
            operand,
            operand,
            st.lists(operand, min_size=1, max_size=3),
        )

    leaves = st.one_of(*(leaf(n) for n in names))
    return st.recursive(
        leaves,
        lambda children: st.tuples(st.sampled_from(["&", "|"]), children, children),
        max_leaves=5,
    )


def build(model: type[Model], spec: tuple[Any, ...]) -> Any:
    if spec[0] in ("&", "|"):
        left, right = build(model, spec[1]), build(model, spec[2])
        return left & right if spec[0] == "&" else left | right
    name, op, a, b, several = spec
    field = model._fields[name]
    if op == "between":
        return field.between(a, b)
    if op == "in":
        return field.in_(several)
    if op == "startswith":
        return field.startswith(a)
    if op == "search":
        return field.search(f"{a} OR {b}")  # type: ignore[attr-defined]
    return {
        "==": field == a,
        "!=": field != a,
        "<": field < a,
        "<=": field <= a,
        ">": field > a,
        ">=": field >= a,
    }[op]


def evaluate(row: dict[str, Any], spec: tuple[Any, ...]) -> bool:
    if spec[0] == "&":
        return evaluate(row, spec[1]) and evaluate(row, spec[2])
    if spec[0] == "|":
        return evaluate(row, spec[1]) or evaluate(row, spec[2])
    name, op, a, b, several = spec
    value = row[name]
    if op == "!=":
        return value is None or value != a
    if value is None:
        return False
    if op == "search":
        return bool({a, b} & set(value.split()))
    return {
        "==": lambda: value == a,
        "<": lambda: value < a,
        "<=": lambda: value <= a,
        ">": lambda: value > a,
        ">=": lambda: value >= a,
        "between": lambda: a <= value <= b,
        "in": lambda: value in several,
        "startswith": lambda: value.startswith(a),
    }[op]()


def uses_search(spec: tuple[Any, ...]) -> bool:
    if spec[0] in ("&", "|"):
        return uses_search(spec[1]) or uses_search(spec[2])
    return bool(spec[1] == "search")


def sort_key(model: type[Model], name: str, value: Any) -> Any:
    """The key ``SORT ... BY *->field`` orders by: numbers (missing = 0) for fields with a
    range index, stored bytes (missing first) for the others."""
    field = model._fields[name]
    if field.get_indexes() and "continuous" in field.index_kinds:
        return 0.0 if value is None else float(field.db_value(value))
    return b"" if value is None else field.db_value(value)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_queries_match_python(db: Database, data: st.DataObject) -> None:
    names = sorted(
        data.draw(st.sets(st.sampled_from(sorted(POOL)), min_size=1, max_size=4), label="fields")
    )
    rows = data.draw(st.lists(row_st(names), max_size=12), label="rows")
    updates = data.draw(
        st.lists(st.tuples(st.integers(0, 11), row_st(names)), max_size=3), label="updates"
    )
    deletes = data.draw(st.lists(st.integers(0, 11), max_size=3), label="deletes")
    db.flushdb()
    Row = make_model(db, names)
    instances = [Row.create(**values) for values in rows]
    truth = {inst._id: dict(values) for inst, values in zip(instances, rows, strict=True)}
    for index, values in updates:
        if index < len(instances) and instances[index]._id in truth:
            inst = instances[index]
            for key, value in values.items():
                setattr(inst, key, value)
            inst.save()
            truth[inst._id] = dict(values)
    for index in deletes:
        if index < len(instances) and instances[index]._id in truth:
            instances[index].delete()
            del truth[instances[index]._id]
    assert Row.check_indexes() == []
    assert Row.count() == len(truth)
    for _ in range(data.draw(st.integers(1, 3), label="queries")):
        spec = data.draw(expr_st(names), label="expression")
        order = data.draw(
            st.one_of(st.none(), st.tuples(st.sampled_from(names), st.booleans())), label="order"
        )
        offset = data.draw(st.integers(0, 5), label="offset")
        limit = data.draw(st.one_of(st.none(), st.integers(0, 6)), label="limit")
        matching = sorted(pk for pk, values in truth.items() if evaluate(values, spec))
        order_by = None
        if order is not None:
            field = Row._fields[order[0]]
            order_by = field.desc() if order[1] else field
        query = Row.query(build(Row, spec), order_by=order_by)
        whole = [row._id for row in query]
        assert sorted(whole) == matching, spec
        assert query.count() == len(matching)
        stop = None if limit is None else offset + limit
        sliced = query[offset:stop]
        got = list(sliced)
        assert len(got) == len(matching[offset:stop]) == sliced.count()
        assert len({r._id for r in got}) == len(got) and {r._id for r in got} <= set(matching)
        if order is not None:
            # Ties may come in any order: compare the sort keys position by position.
            keys = sorted(
                (sort_key(Row, order[0], truth[pk][order[0]]) for pk in matching), reverse=order[1]
            )
            assert [sort_key(Row, order[0], r._data[order[0]]) for r in query] == keys
            assert [sort_key(Row, order[0], r._data[order[0]]) for r in got] == keys[offset:stop]
        elif not uses_search(spec):
            assert whole == matching  # default order: primary key
            assert [r._id for r in got] == matching[offset:stop]
        for row in got:
            assert row._data == {"_id": row._id, **truth[row._id]}


@pytest.mark.parametrize("order", ["name", "num"])
def test_order_by_matches_python(db: Database, order: str) -> None:
    Row = make_model(db, ["name", "num"])
    values = [("b", 3), ("a", -1), ("é", 10), ("ab", 2), ("z", 0)]
    for name, num in values:
        Row.create(name=name, num=num)
    field = Row._fields[order]
    got = [getattr(r, order) for r in Row.query(order_by=field)]
    assert got == sorted(v[0 if order == "name" else 1] for v in values)
    got_desc = [getattr(r, order) for r in Row.query(order_by=field.desc())]
    assert got_desc == list(reversed(got))
    assert [getattr(r, order) for r in Row.query(order_by=field)[1:3]] == got[1:3]
