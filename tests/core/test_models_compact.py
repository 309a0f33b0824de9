"""``__compact_indexes__``: no equality set where another index answers equality."""

from __future__ import annotations

import pytest

from walrus import Database
from walrus.models import FilterError, FloatField, IntegerField, Model, TextField, UniqueError


def make(db: Database, compact: bool = True) -> type[Model]:
    class Item(Model):
        __database__ = db
        __compact_indexes__ = compact
        name = TextField(index=True)
        grp = IntegerField(index=True)
        score = FloatField(index=True)
        body = TextField(fts=True)
        code = TextField(unique=True)

    return Item


def fill(item: type[Model], n: int = 30) -> None:
    for i in range(n):
        item.create(
            name=f"n{i % 5}", grp=i % 3, score=i / 2, body=f"word{i % 4} common", code=f"c{i}"
        )


def keys(db: Database) -> list[bytes]:
    return sorted(db.scan_iter("*"))


def test_compact_rows_keep_no_equality_sets_and_answer_every_filter(db: Database) -> None:
    Item = make(db)
    fill(Item)
    assert not [k for k in keys(db) if b".absolute." in k]
    assert [r._id for r in Item.query(Item.name == "n2")] == [3, 8, 13, 18, 23, 28]
    assert [r._id for r in Item.query((Item.grp == 1) & (Item.score < 5))] == [2, 5, 8]
    assert [r._id for r in Item.query(Item.score == 4.5)] == [10]
    assert [r._id for r in Item.query(Item._id == 7)] == [7]
    assert [r._id for r in Item.query(Item.code.in_(["c1", "c29", "zz"]))] == [2, 30]
    assert len(Item.query(Item.name != "n0")) == 24
    assert sorted(r._id for r in Item.query(Item.body.search("word3") & (Item.grp == 0))) == [
        4,
        16,
        28,
    ]
    assert Item.check_indexes() == []


def test_compact_unique_text_is_still_enforced(db: Database) -> None:
    Item = make(db)
    fill(Item, 3)
    with pytest.raises(UniqueError):
        Item.create(name="x", grp=0, score=0, body="b", code="c1")
    row = Item.load(2)
    row.name = "renamed"
    row.save()  # its own value is no conflict
    assert Item.get(Item.code == "c1").name == "renamed"
    assert Item.count() == 3


def test_equality_on_a_full_text_only_field_needs_an_equality_index(db: Database) -> None:
    Item = make(db)
    with pytest.raises(FilterError, match="body"):
        list(Item.query(Item.body == "word1 common"))


def test_unique_together_fields_keep_their_equality_sets(db: Database) -> None:
    class Slot(Model):
        __database__ = db
        __compact_indexes__ = True
        __unique_together__ = [("room", "hour")]
        room = TextField(index=True)
        hour = IntegerField(index=True)

    Slot.create(room="a", hour=9)
    with pytest.raises(UniqueError):
        Slot.create(room="a", hour=9)
    assert any(b"room.absolute.a" in k for k in keys(db))


def test_switching_a_model_to_compact_rebuilds_its_indexes(db: Database) -> None:
    fill(make(db, compact=False), 10)
    assert [k for k in keys(db) if b".absolute." in k]
    Compact = make(db)
    problems = Compact.check_indexes()
    assert problems and all(b".absolute." in p.key for p in problems)  # the sets it no longer keeps
    Compact.rebuild_indexes()
    assert Compact.check_indexes() == []
    assert not [k for k in keys(db) if b".absolute." in k]
    assert [r._id for r in Compact.query(Compact.name == "n1")] == [2, 7]
    # and back: the default layout writes the equality sets again
    Default = make(db, compact=False)
    Default.rebuild_indexes()
    assert Default.check_indexes() == []
    assert [r._id for r in Default.query(Default.name == "n1")] == [2, 7]


def test_compact_option_must_be_a_bool(db: Database) -> None:
    with pytest.raises(TypeError, match="__compact_indexes__"):

        class Bad(Model):
            __database__ = db
            __compact_indexes__ = "yes"
            name = TextField(index=True)
