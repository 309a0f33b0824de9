"""walrus.models: differential tests. Random rows, random updates and deletes, random
expressions; Redis' answers are compared with a plain Python evaluation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walrus import Database
from walrus.models import BooleanField, FloatField, IntegerField, Model, TextField

NAMES = ["", "a", "ab", "abc", "b", "ba", "é", "éa", "z"]
WORDS = ["walrus", "redis", "python", "tusk", "ocean"]

row_st = st.fixed_dictionaries(
    {
        "name": st.one_of(st.none(), st.sampled_from(NAMES)),
        "num": st.one_of(st.none(), st.integers(-3, 3)),
        "real": st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 0.1, 2.25, 1e10])),
        "flag": st.one_of(st.none(), st.booleans()),
        "words": st.one_of(st.none(), st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join)),
    }
)

RANGE_OPS = ["==", "!=", "<", "<=", ">", ">=", "between", "in"]


def leaf_st() -> st.SearchStrategy[tuple[Any, ...]]:
    num = st.tuples(st.just("num"), st.sampled_from(RANGE_OPS), st.integers(-4, 4), st.integers(-4, 4))
    real = st.tuples(st.just("real"), st.sampled_from(RANGE_OPS), st.sampled_from([-1.5, 0.0, 0.1, 3.0]), st.just(1e10))
    name = st.tuples(
        st.just("name"), st.sampled_from([*RANGE_OPS, "startswith"]), st.sampled_from(NAMES), st.sampled_from(NAMES)
    )
    flag = st.tuples(st.just("flag"), st.sampled_from(["==", "!="]), st.booleans(), st.booleans())
    words = st.tuples(st.just("words"), st.just("search"), st.sampled_from(WORDS), st.sampled_from(WORDS))
    return st.one_of(num, real, name, flag, words)


expr_st = st.recursive(
    leaf_st(),
    lambda children: st.tuples(st.sampled_from(["&", "|"]), children, children),
    max_leaves=5,
)


def build(model: type[Model], spec: tuple[Any, ...]) -> Any:
    if spec[0] in ("&", "|"):
        left, right = build(model, spec[1]), build(model, spec[2])
        return left & right if spec[0] == "&" else left | right
    name, op, a, b = spec
    field = model._fields[name]
    if op == "between":
        return field.between(a, b)
    if op == "in":
        return field.in_([a, b])
    if op == "startswith":
        return field.startswith(a)
    if op == "search":
        return field.search(f"{a} OR {b}")
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
    name, op, a, b = spec
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
        "in": lambda: value in (a, b),
        "startswith": lambda: value.startswith(a),
    }[op]()


def make_row_model(db: Database) -> type[Model]:
    class Row(Model):
        __database__ = db
        name = TextField(index=True)
        num = IntegerField(index=True)
        real = FloatField(index=True)
        flag = BooleanField(index=True)
        words = TextField(fts=True, stemmer=False, stopwords_file=False)

    return Row


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(row_st, max_size=12),
    updates=st.lists(st.tuples(st.integers(0, 11), row_st), max_size=4),
    deletes=st.lists(st.integers(0, 11), max_size=3),
    expressions=st.lists(expr_st, min_size=1, max_size=4),
)
def test_queries_match_python(
    db: Database,
    rows: list[dict[str, Any]],
    updates: list[tuple[int, dict[str, Any]]],
    deletes: list[int],
    expressions: list[tuple[Any, ...]],
) -> None:
    db.flushdb()
    Row = make_row_model(db)
    instances = [Row.create(**values) for values in rows]
    truth = {inst._id: dict(values) for inst, values in zip(instances, rows, strict=True)}
    for index, values in updates:
        if index < len(instances):
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
    for spec in expressions:
        expected = sorted(pk for pk, values in truth.items() if evaluate(values, spec))
        query = Row.query(build(Row, spec))
        got = [row._id for row in query]
        if spec[1] != "search" and spec[0] not in ("&", "|"):
            assert got == expected, spec  # default order: primary key
        assert sorted(got) == expected, spec
        assert query.count() == len(expected)
        ordered = list(Row.query(build(Row, spec), order_by=Row.real.desc()))
        keys = [0.0 if r.real is None else r.real for r in ordered]
        assert keys == sorted(keys, reverse=True)
        assert sorted(r._id for r in ordered) == expected


@pytest.mark.parametrize("order", ["name", "num"])
def test_order_by_matches_python(db: Database, order: str) -> None:
    Row = make_row_model(db)
    values = [("b", 3), ("a", -1), ("é", 10), ("ab", 2), ("z", 0)]
    for name, num in values:
        Row.create(name=name, num=num)
    field = Row._fields[order]
    got = [getattr(r, order) for r in Row.query(order_by=field)]
    assert got == sorted(v[0 if order == "name" else 1] for v in values)
    got_desc = [getattr(r, order) for r in Row.query(order_by=field.desc())]
    assert got_desc == list(reversed(got))
    assert [getattr(r, order) for r in Row.query(order_by=field)[1:3]] == got[1:3]
