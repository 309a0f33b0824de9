"""Query planning and paging at scale: merged range bounds, no index copied to be trimmed,
rows returned by the query script in pages, ``explain()``, cheap model building."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis.connection import AbstractConnection

from walrus import Database
from walrus.models import FloatField, IntegerField, Model, TextField
from walrus.models.executor import PAGE_ROWS, compile_plan, merge_bounds
from walrus.roundtrips import RoundTripCounter


def make_item(db: Database, n: int) -> type[Model]:
    class Item(Model):
        __database__ = db
        name = TextField(index=True)
        grp = IntegerField(index=True)
        score = FloatField(index=True)

    pipe = db.pipeline(transaction=False)
    for i in range(n):
        Item.create(pipeline=pipe, _id=i + 1, name=f"n{i:05d}", grp=i % 10, score=float(i))
    pipe.execute()
    return Item


@contextmanager
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every packed command written to a socket while active."""
    log: list[bytes] = []
    original = AbstractConnection.send_packed_command

    def recording(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        chunks = [command] if isinstance(command, (bytes, bytearray, memoryview)) else command
        log.append(b"".join(bytes(c) for c in chunks))
        original(self, command, check_health)

    with monkeypatch.context() as patch:
        patch.setattr(AbstractConnection, "send_packed_command", recording)
        yield log


def range_ops(plan: Any) -> list[tuple[Any, ...]]:
    ops, found, i = plan.ops, [], 0
    while i < len(ops):
        if ops[i] == "R":
            found.append(tuple(ops[i + 1 : i + 4]))
            i += 5
        else:
            i += 1
    return found


# -- planner (no round trip) -------------------------------------------------------------------


def test_two_bounds_on_one_field_compile_to_one_range(db: Database) -> None:
    Item = make_item(db, 0)
    plan = compile_plan(Item, (Item.score >= 10) & (Item.score < 20))
    assert range_ops(plan) == [(2, b"10.0", b"(20.0")]
    assert "&" not in plan.ops  # nothing left to intersect
    nested = compile_plan(
        Item, ((Item.score > 1) & (Item.grp == 3)) & ((Item.score <= 50) & (Item.score < 60))
    )
    assert [r[1:] for r in range_ops(nested)] == [(b"(1.0", b"50.0")]


def test_merge_bounds_keeps_the_tightest_end() -> None:
    assert merge_bounds([(b"1", b"+inf"), (b"-inf", b"(5")]) == (b"1", b"(5")
    assert merge_bounds([(b"1", b"5"), (b"(1", b"5")]) == (b"(1", b"5")  # exclusive wins a tie
    assert merge_bounds([(b"(2", b"9"), (b"2", b"(9")]) == (b"(2", b"(9")
    assert merge_bounds([(b"-inf", b"3"), (b"7", b"+inf")]) == (b"7", b"3")  # empty, still valid


def test_merged_bounds_return_the_same_rows_as_python(db: Database) -> None:
    Item = make_item(db, 200)
    cases = [
        ((Item.score >= 10) & (Item.score < 20), lambda s, g: 10 <= s < 20),
        (
            (Item.score > 10) & (Item.score <= 20) & (Item.grp == 3),
            lambda s, g: 10 < s <= 20 and g == 3,
        ),
        ((Item.score >= 150) & (Item.score < 40), lambda s, g: False),
        ((Item.score == 42) & (Item.score >= 0), lambda s, g: s == 42),
        (
            ((Item.score < 30) | (Item.grp == 9)) & (Item.score >= 25),
            lambda s, g: (s < 30 or g == 9) and s >= 25,
        ),
        (
            (Item.score.between(5, 60)) & (Item.score > 50) & (Item.grp != 1),
            lambda s, g: 50 < s <= 60 and g != 1,
        ),
    ]
    for expression, check in cases:
        got = [row.score for row in Item.query(expression)]
        wanted = [float(i) for i in range(200) if check(float(i), i % 10)]
        assert got == wanted, expression
        assert Item.query(expression).count() == len(wanted)


def test_range_and_equality_checks_rows_instead_of_copying_the_range(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    Item = make_item(db, 300)
    expression = (Item.score < 250) & (Item.grp == 3)
    steps = Item.query(expression).explain()
    intersection = next(s for s in steps if s["step"] == "intersection (stored)")
    assert "ZSCORE" in intersection["method"] and intersection["rows"] == 30
    assert [r.score for r in Item.query(expression)] == [float(i) for i in range(3, 250, 10)]
    assert not list(db.scan_iter(match="*temp.*"))


# -- explain ------------------------------------------------------------------------------------


def test_explain_lists_steps_rows_and_cost(db: Database) -> None:
    Item = make_item(db, 100)
    steps = Item.query((Item.score >= 10) & (Item.score < 20)).explain()
    assert [s["step"] for s in steps] == [
        "score range",
        "sort by primary key (from the row keys)",
        "read rows (HMGET) in the script",
        "total",
    ]
    assert steps[0]["rows"] == 10 and steps[0]["min"] == "10.0" and steps[0]["max"] == "(20.0"
    assert steps[-1]["cost"] == sum(s["cost"] for s in steps[:-1])
    ordered = Item.query(Item.score > 50, order_by=Item.score.desc())[:5].explain()
    assert ordered[1] == {
        "step": "read in index order",
        "rows": 5,
        "cost": 5,
        "order": "score",
        "direction": "desc",
    }
    assert Item.query().explain()[0]["rows"] == 100
    # Copying two half-indexes costs more than one merged range, and explain() shows it.
    one = Item.query(Item.score.between(10, 19)).explain()[-1]["cost"]
    assert Item.query((Item.score >= 10) & (Item.score < 20)).explain()[-1]["cost"] == one
    assert Item.query((Item.score >= 10) | (Item.score < 20)).explain()[-1]["cost"] > one


def test_explain_is_one_round_trip_and_writes_nothing(db: Database) -> None:
    Item = make_item(db, 20)
    before = sorted(db.scan_iter("*"))
    with RoundTripCounter() as rt:
        Item.query((Item.grp == 1) | (Item.name.startswith("n0001")), order_by=Item.name).explain()
    assert rt.count == 1
    assert sorted(db.scan_iter("*")) == before


# -- rows in pages ------------------------------------------------------------------------------


def test_a_page_of_rows_is_one_round_trip(db: Database) -> None:
    Item = make_item(db, PAGE_ROWS + 50)
    list(Item.query(Item.grp == 1))  # scripts registered
    with RoundTripCounter() as rt:
        rows = list(Item.query(Item.score < PAGE_ROWS))
    assert rt.count == 1 and len(rows) == PAGE_ROWS
    assert [r._id for r in rows] == list(range(1, PAGE_ROWS + 1))
    with RoundTripCounter() as rt:
        rows = list(Item.query())
    assert rt.count == 2 and len(rows) == PAGE_ROWS + 50  # one more page, pipelined
    assert [r._id for r in rows] == list(range(1, PAGE_ROWS + 51))
    assert rows[-1].name == f"n{PAGE_ROWS + 49:05d}" and rows[-1].score == float(PAGE_ROWS + 49)


def test_rows_deleted_between_pages_are_skipped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    Item = make_item(db, PAGE_ROWS + 3)
    import walrus.models.collection as collection

    original = collection.load_rows

    def delete_first(model: type[Model], keys: list[bytes], page: int = PAGE_ROWS) -> list[Model]:
        db.delete(keys[0])  # a row of the second page vanishes before it is read
        return original(model, keys, page)

    monkeypatch.setattr(collection, "load_rows", delete_first)
    rows = list(Item.query())
    assert len(rows) == PAGE_ROWS + 2


def test_unordered_results_follow_the_primary_key_without_reading_rows(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    Item = make_item(db, 30)
    list(Item.query(Item.grp == 1))  # the script is loaded: later calls send only its digest
    with sent(monkeypatch) as log:
        rows = list(Item.query(Item.grp == 4))
    assert [r._id for r in rows] == [5, 15, 25]
    assert len(log) == 1 and b"SORT" not in log[0] and b"HGET\r\n" not in log[0]


def test_text_primary_keys_order_alphabetically(db: Database) -> None:
    class Tag(Model):
        __database__ = db
        label = TextField(primary_key=True)
        weight = IntegerField(index=True)

    for label in ["pear", "apple", "fig", "banana"]:
        Tag.create(label=label, weight=len(label))
    assert [t.label for t in Tag.query()] == ["apple", "banana", "fig", "pear"]
    assert [t.label for t in Tag.query(Tag.weight >= 4, order_by="-label")] == [
        "pear",
        "banana",
        "apple",
    ]


def test_order_by_the_range_field_reads_the_index_in_order(db: Database) -> None:
    Item = make_item(db, 50)
    q = Item.query((Item.score >= 10) & (Item.score < 40), order_by=Item.score.desc())
    assert [r.score for r in q[2:5]] == [37.0, 36.0, 35.0]
    assert [r.score for r in Item.query(Item.score > 45, order_by=Item.score)] == [
        46.0,
        47.0,
        48.0,
        49.0,
    ]
    assert [r.score for r in Item.query(Item.score > 45, order_by=Item.score)[1:]] == [
        47.0,
        48.0,
        49.0,
    ]


def test_model_building_reads_odd_stored_values_like_before(db: Database) -> None:
    Item = make_item(db, 3)
    db.hset(Item._row_key(2), "grp", b"4.0")  # an int stored as a float text
    db.hdel(Item._row_key(3), "name")
    rows = list(Item.query())
    assert [r.grp for r in rows] == [0, 4, 2]
    assert rows[2].name is None
    db.hset(Item._row_key(1), "score", b"not a number")
    from walrus.models import FieldValueError

    with pytest.raises(FieldValueError, match="score"):
        list(Item.query())


# -- auto-increment create in one round trip -------------------------------------------------------


def test_auto_increment_create_is_one_round_trip(db: Database) -> None:
    class Note(Model):
        __database__ = db
        title = TextField(index=True)
        stars = IntegerField(index=True)
        code = TextField(unique=True)

    Note.create(title="warm", stars=0, code="w")
    with RoundTripCounter() as rt:
        note = Note.create(title="hello", stars=4, code="a")
    assert rt.count == 1
    assert note._id == 2 and Note.load(2).title == "hello"
    assert [n._id for n in Note.query(Note._id == 2)] == [2]
    assert [n._id for n in Note.query(Note._id >= 2)] == [2]
    assert Note.check_indexes() == []
    assert db.get(Note._make_key("_id", "_sequence")) == b"2"
    assert not [k for k in db.scan_iter("*") if b"walrus-next-key" in k]


def test_allocation_skips_rows_written_with_explicit_keys(db: Database) -> None:
    class Note(Model):
        __database__ = db
        title = TextField(index=True)

    Note.create(_id=1, title="one")
    db.set(Note._make_key("_id", "_sequence"), 0)  # a counter behind the rows (upstream data)
    Note.create(_id=2, title="two")
    note = Note.create(title="three")
    assert note._id == 3
    assert [n.title for n in Note.query()] == ["one", "two", "three"]
    assert Note.check_indexes() == []


def test_refused_auto_increment_create_allocates_nothing(db: Database) -> None:
    from walrus.models import UniqueError

    class Account(Model):
        __database__ = db
        email = TextField(unique=True)

    Account.create(email="a@x")
    account = Account(email="a@x")
    with pytest.raises(UniqueError):
        account.save()
    assert account._id is None
    assert db.get(Account._make_key("_id", "_sequence")) == b"1"
    assert Account.create(email="b@x")._id == 2


def test_a_counter_that_is_not_an_integer_is_reported(db: Database) -> None:
    import redis

    class Note(Model):
        __database__ = db
        title = TextField()

    db.set(Note._make_key("_id", "_sequence"), "oops")
    with pytest.raises(redis.ResponseError, match="_sequence"):
        Note.create(title="x")
    assert Note.count() == 0


def test_remembered_stems_match_a_fresh_tokenizer(db: Database) -> None:
    import threading

    from walrus.models import fields
    from walrus.search.tokenizer import Tokenizer

    class Doc(Model):
        __database__ = db
        body = TextField(fts=True)

    fresh = Tokenizer()
    texts = [f"running {i} runners ran it's connections connected w{i % 7}" for i in range(200)]
    results: list[bool] = []

    def work() -> None:
        results.extend(Doc.body.tokenizer.tokenize(t) == fresh.tokenize(t) for t in texts)

    old_limit = fields.STEM_CACHE_WORDS
    fields.STEM_CACHE_WORDS = 5  # forces clears while other threads read
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        fields.STEM_CACHE_WORDS = old_limit
    assert results and all(results)
    Doc.create(body="connections running")
    assert len(list(Doc.query(Doc.body.search("connected runs")))) == 1


def test_an_unordered_query_reads_index_order_without_a_sort(db: Database) -> None:
    """``unordered()``: no sort step (explain says "no order"); rows come in the index's
    order (here the grp range: grp, then row key), every row once across the pages."""
    n = PAGE_ROWS * 2 + 200
    Item = make_item(db, n)
    query = Item.query(Item.grp >= 0).unordered()
    steps = [s["step"] for s in query.explain()]
    assert "no order" in steps and not any(s.startswith("sort") for s in steps)
    expected = sorted(range(1, n + 1), key=lambda pk: ((pk - 1) % 10, Item._row_key(pk)))
    with RoundTripCounter() as rt:
        got = [row._id for row in query]
    assert got == expected and rt.count == 3  # the script's page, then two more pages
    assert [row._id for row in query[10:15]] == expected[10:15]
    assert query.count() == n
    # the default is still the primary key order
    assert [row._id for row in Item.query(Item.grp >= 0)[:3]] == [1, 2, 3]
