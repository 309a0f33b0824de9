"""walrus.models: bad input for every field type (wrong types, None, huge values, non-UTF-8
bytes), auto-increment and foreign keys. Each is refused with an exception naming the
field, before anything is written; or, for None and huge values, stored and read back."""

from __future__ import annotations

import datetime
import math
import uuid
from typing import Any

import pytest

from walrus import Database
from walrus.exceptions import WalrusError
from walrus.models import (
    AutoIncrementField,
    BooleanField,
    ByteField,
    DateField,
    DateTimeField,
    FieldTypeError,
    FieldValueError,
    FilterError,
    FloatField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    MissingReferenceError,
    Model,
    SetField,
    TextField,
    UUIDField,
)

MB = 1024 * 1024


def snapshot(db: Database) -> dict[bytes, Any]:
    return {key: db.dump(key) for key in db.scan_iter()}


def make_typed(db: Database) -> tuple[type[Model], type[Model]]:
    class Owner(Model):
        __database__ = db
        __cluster_tag__ = "typed"  # related models share a slot on Redis Cluster
        code = TextField(primary_key=True)

    class Typed(Model):
        __database__ = db
        __cluster_tag__ = "typed"
        serial = AutoIncrementField()
        text = TextField(index=True)
        notes = TextField()
        words = TextField(fts=True)
        number = IntegerField(index=True)
        big = IntegerField()
        real = FloatField(index=True)
        blob = ByteField()
        flag = BooleanField(index=True)
        ident = UUIDField(index=True)
        when = DateTimeField(index=True)
        day = DateField(index=True)
        doc = JSONField()
        owner = ForeignKeyField(Owner, related_name="typed")
        tags = SetField()

    return Owner, Typed


T, V = FieldTypeError, FieldValueError
BAD: list[tuple[str, Any, type[Exception]]] = [
    ("text", 12, T),
    ("text", ["a"], T),
    ("text", b"\xff\xfe", V),  # not UTF-8
    ("text", "a\x00b", V),  # NUL in indexed text
    ("text", "\ud800", V),  # a lone surrogate cannot be encoded
    ("notes", object(), T),
    ("notes", b"caf\xc3", V),
    ("words", 3.5, T),
    ("words", b"\xff", V),
    ("number", "12", T),
    ("number", b"12", T),
    ("number", b"\xff", T),
    ("number", 1.0, T),
    ("number", True, T),
    ("number", 2**53 + 1, V),  # beyond what an index score keeps exactly
    ("number", 10**30, V),
    ("big", 2**63, V),
    ("big", -(2**63) - 1, V),
    ("big", "1", T),
    ("real", "1.5", T),
    ("real", b"1.5", T),
    ("real", math.nan, V),
    ("real", 10**400, V),
    ("real", True, T),
    ("blob", 12, T),
    ("blob", [1], T),
    ("blob", "\ud800", V),
    ("flag", 1, T),
    ("flag", "true", T),
    ("flag", b"1", T),
    ("ident", "not-a-uuid", V),
    ("ident", b"\xff" * 16, V),
    ("ident", uuid.UUID(int=7).bytes, V),
    ("ident", 12, T),
    ("when", datetime.date(2020, 1, 1), T),
    ("when", 1700000000, T),
    ("when", "2020-01-01T00:00:00", T),
    ("when", b"\xff", T),
    ("day", datetime.datetime(2020, 1, 1), T),
    ("day", "2020-01-01", T),
    ("day", 18000, T),
    ("doc", {1, 2}, T),
    ("doc", b"\xff", T),
    ("doc", object(), T),
    ("doc", [math.inf], V),
    ("doc", {"a": "\ud800"}, V),
    ("doc", {1: "a", "b": 2}, T),  # keys of mixed types cannot be sorted
    ("serial", "abc", T),
    ("serial", b"\xff", T),
    ("serial", 1.5, T),
    ("serial", True, T),
    ("serial", 2**60, V),
    ("owner", 12, T),  # the Owner key is text
    ("owner", b"\xff", V),
    ("owner", "a\x00b", V),
]


@pytest.mark.parametrize(
    ("field", "value", "error"), BAD, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD)]
)
def test_bad_values_are_refused_before_writing(
    db: Database, field: str, value: Any, error: type
) -> None:
    Owner, Typed = make_typed(db)
    Owner.create(code="o")
    Typed.create(text="keep", number=1, owner="o")
    before = snapshot(db)
    with pytest.raises(error, match=repr(field)) as info:
        Typed.create(**{field: value})
    assert isinstance(info.value, WalrusError) and isinstance(info.value, (TypeError, ValueError))
    row = Typed.load(1)
    with pytest.raises(error, match=repr(field)):
        setattr(row, field, value)
    row._data[field] = value  # bypassing the descriptor is caught by save()
    with pytest.raises(error, match=repr(field)):
        row.save()
    assert snapshot(db) == before


def test_foreign_key_bad_values(db: Database) -> None:
    Owner, Typed = make_typed(db)
    owner = Owner.create(code="o")
    other = Typed.create(text="x")
    before = snapshot(db)
    with pytest.raises(FieldTypeError, match="'owner'.*Owner"):
        Typed.create(owner=other)  # a row of another model
    with pytest.raises(FieldValueError, match="'owner'.*save it first"):
        Typed.create(owner=Owner())  # an unsaved row has no key
    with pytest.raises(MissingReferenceError, match="owner") as info:
        Typed.create(owner="nobody")
    assert info.value.field == "owner"
    assert snapshot(db) == before  # no row, no index entry, no sequence step
    assert Typed.create(owner=owner).serial == 2


def test_auto_increment_key_bad_values_and_none(db: Database) -> None:
    _Owner, Typed = make_typed(db)
    before = snapshot(db)
    for value in ("1", 1.0, True, 2**60, -(2**60)):
        with pytest.raises((FieldTypeError, FieldValueError), match="serial"):
            Typed.create(serial=value)
    assert snapshot(db) == before
    assert Typed.create(serial=None).serial == 1  # None: allocated
    assert Typed.create(serial=-5).serial == -5  # any integer in range is a valid key
    with pytest.raises(KeyError):
        Typed.load("abc")  # a key from a URL that is not an integer is simply missing


def test_none_is_stored_as_absent_and_not_indexed(db: Database) -> None:
    Owner, Typed = make_typed(db)
    stored = [name for name in Typed._stored if name != "serial"]
    row = Typed.create(**{name: None for name in stored})
    assert db.hgetall(row.get_hash_id()) == {b"serial": b"1"}
    loaded = Typed.load(1)
    assert all(getattr(loaded, name) is None for name in stored)
    assert Typed.check_indexes() == []
    with pytest.raises(FilterError, match="'text'.*None"):
        list(Typed.query(Typed.text == None))  # noqa: E711
    before = snapshot(db)
    with pytest.raises(FieldValueError, match="'code'"):
        Owner.create(code=None)  # a text primary key needs a value
    assert snapshot(db) == before


def test_huge_values_round_trip(db: Database) -> None:
    _Owner, Typed = make_typed(db)
    notes = ("walrus é 🦭 " * (4 * MB // 16))[: 4 * MB]
    blob = bytes(range(256)) * (4 * MB // 256)  # every byte value, not UTF-8
    doc = {"items": [{"n": i, "text": "x" * 20} for i in range(60_000)], "nested": [[[["deep"]]]]}
    text = "t" * MB  # indexed: a 1 MB equality-index key and lexicographic member
    row = Typed.create(
        notes=notes, blob=blob, doc=doc, text=text, big=2**63 - 1, real=1.7976931348623157e308
    )
    loaded = Typed.load(row.serial)
    assert (
        loaded.notes == notes and loaded.blob == blob and loaded.doc == doc and loaded.text == text
    )
    assert loaded.big == 2**63 - 1 and loaded.real == 1.7976931348623157e308
    assert [r.serial for r in Typed.query(Typed.text == text)] == [row.serial]
    assert [r.serial for r in Typed.query(Typed.text.startswith("ttt"))] == [row.serial]
    assert Typed.query(Typed.real > 1e308).count() == 1
    assert Typed.check_indexes() == []
    row.delete()
    assert [k for k in db.scan_iter() if not k.endswith(b"_sequence")] == []


def test_extreme_dates_and_floats_round_trip(db: Database) -> None:
    _Owner, Typed = make_typed(db)
    values = [
        {"when": datetime.datetime.min, "day": datetime.date.min, "real": -math.inf},
        {"when": datetime.datetime.max, "day": datetime.date.max, "real": math.inf},
        {
            "when": datetime.datetime(1969, 12, 31, 23, 59, 59, 999999),
            "day": datetime.date(1970, 1, 1),
            "real": 5e-324,
        },
    ]
    rows = [Typed.create(**v) for v in values]
    for row, v in zip(rows, values, strict=True):
        loaded = Typed.load(row.serial)
        assert (loaded.when, loaded.day, loaded.real) == (v["when"], v["day"], v["real"])
    assert [r.serial for r in Typed.query(Typed.when < datetime.datetime(1970, 1, 1))] == [1, 3]
    assert [r.serial for r in Typed.query(Typed.real == math.inf)] == [2]
    assert Typed.check_indexes() == []
