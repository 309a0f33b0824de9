"""walrus.models: check_indexes / rebuild_indexes, including repairs racing with writers,
and the index objects of Field.get_indexes()."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from walrus import Database
from walrus.models import (
    AbsoluteIndex,
    ContinuousIndex,
    DateTimeField,
    FieldValueError,
    FloatField,
    FullTextIndex,
    IntegerField,
    JSONField,
    LexIndex,
    Model,
    ModelError,
    TextField,
    UUIDField,
    reindex,
)

WORDS = ["alpha", "beta", "gamma", "delta"]


def make_item(db: Database) -> type[Model]:
    class Item(Model):
        __database__ = db
        code = TextField(primary_key=True)
        name = TextField(index=True)
        qty = IntegerField(index=True)
        body = TextField(fts=True, stemmer=False, stopwords_file=False)

    return Item


def assert_findable(Item: Any) -> None:  # noqa: N803  (a model class, named as in the tests)
    """Every row is found through each of its indexes (no valid entry was lost)."""
    for row in Item.all():
        assert row in list(Item.query(Item.name == row.name)), row
        assert row in list(Item.query(Item.name.startswith(row.name))), row
        assert row in list(Item.query(Item.qty.between(row.qty, row.qty))), row
        assert row in list(Item.query(Item.body.search(row.body.split()[0]))), row


# -- repairs racing with writers ---------------------------------------------------------


def test_rebuild_keeps_entries_of_rows_written_between_its_reads(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    Item = make_item(db)
    Item.create(code="a", name="old", qty=1, body="alpha")
    Item.create(code="gone", name="g", qty=5, body="gamma")
    ghost = Item._make_key("name", "absolute", "ghost")
    db.sadd(ghost, Item._make_key("id", "zz"))  # a real orphan
    read_indexes = reindex._actual_entries

    def racing(model: type[Model]) -> Any:
        # Writes landing after the rows were read and before the indexes are: a new row
        # (its entries look orphaned), an update (old entries look missing, new ones
        # orphaned) and a delete (its entries look missing).
        Item.create(code="b", name="new", qty=2, body="beta")
        row = Item.load("a")
        row.name, row.qty, row.body = "renamed", 7, "delta"
        row.save()
        Item.load("gone").delete()
        return read_indexes(model)

    monkeypatch.setattr(reindex, "_actual_entries", racing)
    repaired = Item.rebuild_indexes()
    monkeypatch.setattr(reindex, "_actual_entries", read_indexes)
    assert [(p.kind, p.key, p.member) for p in repaired] == [
        ("orphan", ghost, Item._make_key("id", "zz"))
    ]
    assert Item.check_indexes() == []
    assert sorted(r.code for r in Item.all()) == ["a", "b"]
    assert [r.code for r in Item.query(Item.name == "new")] == ["b"]
    assert [r.code for r in Item.query(Item.qty == 7)] == ["a"]
    assert_findable(Item)


def test_rebuild_during_concurrent_writers_loses_no_valid_entry(db: Database) -> None:
    Item = make_item(db)
    for i in range(20):
        Item.create(code=f"seed{i}", name=f"n{i % 7}", qty=i, body=WORDS[i % 4])
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        i = 0
        try:
            while not stop.is_set():
                code = f"w{n}.{i % 12}"
                Item.create(
                    code=code, name=f"n{i % 7}", qty=i % 11, body=f"{WORDS[i % 4]} {WORDS[n % 4]}"
                )
                if i % 3 == 0:
                    row = Item.load(code)
                    row.name, row.qty = f"u{i % 5}", row.qty + 100
                    row.save()
                if i % 5 == 0:
                    try:
                        Item.load(f"w{n}.{(i + 6) % 12}").delete()
                    except KeyError:
                        pass  # not created yet
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(12):
            # Real damage for the rebuild to repair, beside the writers' traffic.
            db.sadd(
                Item._make_key("name", "absolute", "ghost"), Item._make_key("id", f"ghost{round_}")
            )
            db.zrem(Item._make_key("qty", "continuous"), Item._make_key("id", "seed3"))
            Item.rebuild_indexes()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    # No rebuild after the writers stopped: the rounds above must have repaired the damage
    # without deleting an entry of a row written meanwhile.
    assert Item.check_indexes() == []
    assert Item.count() >= 20
    assert_findable(Item)


def test_repairs_of_rows_that_changed_are_skipped(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fix computed from a value the row no longer holds is not applied: the missing
    # entry of "a" (computed from qty 1) must not come back once qty is 9.
    Item = make_item(db)
    a = Item.create(code="a", name="x", qty=1, body="alpha")
    qty_one = Item._make_key("qty", "absolute", "1")
    db.srem(qty_one, a.get_hash_id())
    found = reindex.inspect(Item)
    assert [(p.kind, p.key) for p, _ in found] == [("missing", qty_one)]
    monkeypatch.setattr(reindex, "inspect", lambda model: found)
    a.qty = 9
    a.save()
    assert Item.rebuild_indexes() == []
    monkeypatch.undo()
    assert db.smembers(qty_one) == set()
    assert Item.check_indexes() == []


def test_rebuild_repairs_every_kind_and_reports_duplicates(db: Database) -> None:
    Item = make_item(db)
    a = Item.create(code="a", name="ann", qty=3, body="alpha beta")
    Item.create(code="b", name="bob", qty=4, body="gamma")
    key, k = a.get_hash_id(), Item._make_key
    db.sadd(k("name", "absolute", "ghost"), k("id", "nobody"))  # orphan of a missing row
    db.sadd(k("name", "absolute", "stale"), key)  # orphan of an existing row
    db.zadd(k("name", "lex"), {b"junk-without-nul": 0})  # member naming no row
    db.srem(k("name", "absolute", "ann"), key)  # missing
    db.zadd(k("qty", "continuous"), {key: 42})  # wrong score
    db.zrem(k("body", "fts", "beta"), key)  # missing
    db.srem(k("all"), k("id", "b"))  # unlisted row
    db.sadd(k("all"), k("id", "vanished"), b"elsewhere")  # dangling rows
    kinds = sorted(p.kind for p in Item.check_indexes())
    assert kinds == [
        "dangling-row",
        "dangling-row",
        "missing",
        "missing",
        "orphan",
        "orphan",
        "orphan",
        "unlisted-row",
        "wrong-score",
    ]
    assert sorted(p.kind for p in Item.rebuild_indexes()) == kinds
    assert Item.check_indexes() == []
    assert_findable(Item)


# -- Field.get_indexes ----------------------------------------------------------------------


def test_get_indexes_describes_each_fields_indexes(db: Database) -> None:
    class Doc(Model):
        __database__ = db
        __namespace__ = "ns"
        title = TextField(index=True)
        body = TextField(fts=True)
        both = TextField(index=True, fts=True)
        plain = TextField()
        hits = IntegerField(index=True)
        ratio = FloatField(index=True)
        seen = DateTimeField(index=True)
        ident = UUIDField(index=True)
        meta = JSONField()

    assert [type(i) for i in Doc.title.get_indexes()] == [AbsoluteIndex, LexIndex]
    assert [type(i) for i in Doc.body.get_indexes()] == [AbsoluteIndex, FullTextIndex]
    assert [type(i) for i in Doc.both.get_indexes()] == [AbsoluteIndex, LexIndex, FullTextIndex]
    assert Doc.plain.get_indexes() == [] and Doc.meta.get_indexes() == []
    for name in ("hits", "ratio", "seen", "_id"):
        assert [type(i) for i in Doc._fields[name].get_indexes()] == [
            AbsoluteIndex,
            ContinuousIndex,
        ]
    assert [type(i) for i in Doc.ident.get_indexes()] == [AbsoluteIndex]
    # The objects name the keys the model writes.
    doc = Doc.create(title="Hi", body="walrus tusks", hits=3, ratio=0.5)
    member = doc.get_hash_id()
    absolute, lex = Doc.title.get_indexes()
    assert (
        absolute.get_key("Hi") == Doc._make_key("title", "absolute", "Hi")
        and absolute.key_type == "set"
    )
    assert db.smembers(absolute.get_key("Hi")) == {member}
    assert lex.get_key() == Doc._make_key("title", "lex") and lex.kind == "lex"
    hits_eq, hits_range = Doc.hits.get_indexes()
    assert db.smembers(hits_eq.get_key(3)) == {member}
    assert db.zscore(hits_range.get_key(), member) == 3
    assert db.smembers(Doc.ratio.get_indexes()[0].get_key(0.5)) == {member}
    fts = Doc.body.get_indexes()[1]
    token = next(iter(fts.tokenizer.tokenize("tusks")))
    assert db.zscore(fts.get_key(token), member) is not None
    assert Doc.title.get_indexes() == Doc.title.get_indexes()  # compared by field, not ==
    assert "AbsoluteIndex" in repr(absolute)


def test_get_indexes_errors(db: Database) -> None:
    class Doc(Model):
        __database__ = db
        hits = IntegerField(index=True)
        body = TextField(fts=True)

    with pytest.raises(ValueError, match="pass the value"):
        Doc.hits.get_indexes()[0].get_key()
    with pytest.raises(FieldValueError, match="hits"):
        Doc.hits.get_indexes()[0].get_key(2**60)
    with pytest.raises(ValueError, match="token"):
        Doc.body.get_indexes()[1].get_key(3)
    with pytest.raises(ModelError, match="not bound"):
        IntegerField(index=True).get_indexes()[1].get_key()
    assert IntegerField().get_indexes() == []
