"""walrus.models: round-trip costs, atomicity, unique values, bad input, key layout and the
index checker."""

from __future__ import annotations

import datetime
import math
import threading
import uuid
from typing import Any

import pytest

from walrus import Database
from walrus.exceptions import WalrusError
from walrus.models import (
    BooleanField,
    ByteField,
    DateField,
    DateTimeField,
    FieldTypeError,
    FieldValueError,
    FloatField,
    IntegerField,
    JSONField,
    Model,
    SetField,
    TextField,
    UniqueError,
    UUIDField,
)
from walrus.roundtrips import RoundTripCounter


def make_account(db: Database) -> type[Model]:
    class Account(Model):
        __database__ = db
        email = TextField(unique=True)
        name = TextField(index=True)
        level = IntegerField(index=True, unique=False, default=1)
        badge = IntegerField(unique=True)
        bio = TextField(fts=True)
        tags = SetField()

    return Account


def snapshot(db: Database) -> dict[bytes, Any]:
    return {key: db.dump(key) for key in db.scan_iter()}


# -- round trips --------------------------------------------------------------------------


def test_round_trip_counts(db: Database) -> None:
    Account = make_account(db)
    Account.create(email="warm@x")  # registers the scripts
    with RoundTripCounter() as rt:
        a = Account.create(email="a@x", name="a", bio="quokka world")
    assert rt.count <= 2
    with RoundTripCounter() as rt:
        Account.load(a._id)
    assert rt.count == 1
    with RoundTripCounter() as rt:
        a.name = "b"
        a.save()
    assert rt.count == 1
    with RoundTripCounter() as rt:
        a.incr(Account.level, 2)
    assert rt.count == 1
    for i in range(60):
        Account.create(email=f"{i}@x", name="bulk", level=i)
    for expression in [
        Account.name == "bulk",
        Account.level > 10,
        (Account.name == "bulk") & (Account.level < 50),
    ]:
        with RoundTripCounter() as rt:
            rows = list(Account.query(expression, order_by=Account.level.desc()))
        assert rt.count == 1  # the query script returns the rows (one page)
        assert rows
    with RoundTripCounter() as rt:
        assert Account.query(Account.name == "bulk").count() == 60
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert Account.count() == 62
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert len(list(Account.query(Account.bio.search("quokka")))) == 1
    assert rt.count == 1
    with RoundTripCounter() as rt:
        a.delete()
    assert rt.count == 1
    assert list(db.scan_iter(match="temp.*")) == []  # query temporaries are gone


def test_explicit_pk_create_is_one_round_trip_and_replace_two(db: Database) -> None:
    class Page(Model):
        __database__ = db
        url = TextField(primary_key=True)
        title = TextField(index=True)

    Page.create(url="/warm", title="w")
    with RoundTripCounter() as rt:
        Page.create(url="/a", title="one")
    assert rt.count == 1
    with RoundTripCounter() as rt:
        Page.create(url="/a", title="two")
    assert rt.count == 2


def test_script_flush_is_survived(db: Database) -> None:
    Account = make_account(db)
    Account.create(email="a@x")
    db.script_flush()
    Account.create(email="b@x")
    assert Account.query(Account.email == "b@x").count() == 1


# -- atomicity, replacement, unique --------------------------------------------------------


def test_create_over_existing_pk_leaves_no_stale_index_entries(db: Database) -> None:
    class Page(Model):
        __database__ = db
        url = TextField(primary_key=True)
        title = TextField(index=True)
        body = TextField(fts=True)
        views = IntegerField(index=True)

    Page.create(url="/a", title="old", body="alpha beta", views=3)
    Page.create(url="/a", title="new", body="gamma", views=9)
    assert list(Page.query(Page.title == "old")) == []
    assert list(Page.query(Page.views == 3)) == []
    assert list(Page.query(Page.body.search("alpha"))) == []
    assert [p.title for p in Page.query(Page.body.search("gamma"))] == ["new"]
    assert Page.check_indexes() == []
    assert not db.exists(b"page:title.absolute.old")


def test_unique_violation_writes_nothing(db: Database) -> None:
    Account = make_account(db)
    Account.create(email="a@x", badge=7)
    before = snapshot(db)
    with pytest.raises(UniqueError) as info:
        Account.create(email="a@x", name="other")
    assert isinstance(info.value, WalrusError) and isinstance(info.value, ValueError)
    assert info.value.field == "email"
    with pytest.raises(UniqueError, match="badge"):
        Account.create(email="b@x", badge=7)
    assert snapshot(db) == before  # no row, no index entry, no allocated pk
    b = Account.create(email="b@x", badge=8)
    assert b._id == 2
    with pytest.raises(UniqueError):
        b.incr(Account.badge, -1)
    assert Account.load(2).badge == 8
    b.email = "a@x"
    with pytest.raises(UniqueError):
        b.save()
    assert Account.load(2).email == "b@x"
    b.email = "b@x"
    b.save()  # saving its own value again is fine
    assert Account.check_indexes() == []


def test_concurrent_unique_creates_one_winner(db: Database) -> None:
    Account = make_account(db)
    Account.create(email="warm@x")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        barrier.wait()
        try:
            Account.create(email="same@x", name=f"t{n}")
            result = "won"
        except UniqueError:
            result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    assert Account.query(Account.email == "same@x").count() == 1
    assert Account.count() == 2
    assert Account.check_indexes() == []


def test_concurrent_autoincrement_gives_distinct_ids(db: Database) -> None:
    Account = make_account(db)
    barrier = threading.Barrier(8)
    ids: list[int] = []

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(5):
            ids.append(Account.create(email=f"{n}.{i}@x")._id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(1, 41))
    assert Account.check_indexes() == []


def test_concurrent_incr_is_exact(db: Database) -> None:
    Account = make_account(db)
    a = Account.create(email="a@x", level=0)

    def worker() -> None:
        row = Account.load(a._id)
        for _ in range(25):
            row.incr(Account.level)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Account.load(a._id).level == 100
    assert Account.check_indexes() == []


def test_stale_instance_save_fixes_indexes(db: Database) -> None:
    Account = make_account(db)
    a = Account.create(email="a@x", name="first")
    other = Account.load(a._id)
    other.name = "second"
    other.save()
    a.level = 5  # a still believes name == "first"
    a.save()
    assert Account.check_indexes() == []
    assert [x.name for x in Account.query(Account.name == "first")] == ["first"]
    assert list(Account.query(Account.name == "second")) == []


def test_auto_pk_skips_ids_taken_by_explicit_rows(db: Database) -> None:
    Account = make_account(db)
    db.hset(b"account:id.1", mapping={"_id": "1", "email": "legacy@x"})  # written behind our back
    assert Account.create(email="new@x")._id == 2
    Account.create(_id=10, email="ten@x")
    assert Account.create(email="next@x")._id == 11


# -- bad input -----------------------------------------------------------------------------


def make_typed(db: Database) -> type[Model]:
    class Typed(Model):
        __database__ = db
        text = TextField(index=True)
        number = IntegerField(index=True)
        big = IntegerField()
        real = FloatField(index=True)
        flag = BooleanField(index=True)
        when = DateTimeField(index=True)
        day = DateField()
        blob = ByteField()
        ident = UUIDField()
        doc = JSONField()

    return Typed


BAD_VALUES = [
    ("text", 5, FieldTypeError),
    ("text", b"\xff\xfe", FieldValueError),
    ("text", "bad \ud800 surrogate", FieldValueError),
    ("text", "nul\x00inside", FieldValueError),
    ("number", "5", FieldTypeError),
    ("number", True, FieldTypeError),
    ("number", 1.5, FieldTypeError),
    ("number", 2**53 + 1, FieldValueError),
    ("big", 2**63, FieldValueError),
    ("real", math.nan, FieldValueError),
    ("real", "1.0", FieldTypeError),
    ("real", 10**400, FieldValueError),
    ("flag", 1, FieldTypeError),
    ("when", datetime.date(2020, 1, 1), FieldTypeError),
    ("when", 1700000000, FieldTypeError),
    ("day", datetime.datetime(2020, 1, 1), FieldTypeError),
    ("blob", 12, FieldTypeError),
    ("ident", "not-a-uuid", FieldValueError),
    ("ident", 12, FieldTypeError),
    ("doc", {1, 2}, FieldTypeError),
    ("doc", [math.inf], FieldValueError),
]


@pytest.mark.parametrize(("field", "value", "error"), BAD_VALUES)
def test_bad_values_are_refused_before_writing(
    db: Database, field: str, value: Any, error: type
) -> None:
    Typed = make_typed(db)
    Typed.create(text="keep", number=1)
    before = snapshot(db)
    with pytest.raises(error, match=field):
        Typed.create(**{field: value})
    row = Typed.load(1)
    with pytest.raises(error, match=field):
        setattr(row, field, value)
    row._data[field] = value  # bypassing the descriptor is caught by save()
    with pytest.raises(error, match=field):
        row.save()
    assert snapshot(db) == before
    assert issubclass(error, WalrusError) and issubclass(error, (TypeError, ValueError))


def test_unknown_keywords_and_bad_incr(db: Database) -> None:
    Typed = make_typed(db)
    with pytest.raises(TypeError, match="bogus, other"):
        Typed(text="x", bogus=1, other=2)
    with pytest.raises(TypeError, match="keyword"):
        Typed("positional")
    row = Typed.create(number=1, big=2**62, real=1.0)
    before = snapshot(db)
    with pytest.raises(FieldValueError, match="number"):
        row.incr(Typed.number, 2**53)
    with pytest.raises(FieldValueError, match="big"):
        row.incr(Typed.big, 2**62)
    with pytest.raises(FieldValueError, match="real"):
        row.incr(Typed.real, math.nan)
    with pytest.raises(FieldTypeError):
        row.incr(Typed.number, True)
    with pytest.raises(FieldTypeError):
        row.incr("missing_field")
    with pytest.raises(FieldTypeError):
        row.incr(Typed._id)
    assert snapshot(db) == before
    assert Typed.load(row._id).big == 2**62


def test_primary_key_required_for_text_pk(db: Database) -> None:
    class Page(Model):
        __database__ = db
        url = TextField(primary_key=True)

    with pytest.raises(FieldValueError, match="url"):
        Page.create()
    assert list(db.scan_iter()) == []

    class Thing(Model):
        __database__ = db
        ident = UUIDField(primary_key=True)

    thing = Thing.create()
    assert isinstance(thing.ident, uuid.UUID)
    assert Thing.load(thing.ident) == thing
    assert Thing.load(str(thing.ident)) == thing


# -- key layout and compatibility ----------------------------------------------------------


def test_key_layout_matches_upstream(db: Database) -> None:
    class Note(Model):
        __database__ = db
        __namespace__ = "blog"
        title = TextField(index=True)
        body = TextField(fts=True, stemmer=False)
        stars = IntegerField(index=True)
        published = BooleanField(index=True)
        tags = SetField()

    n = Note.create(title="Hi", body="walrus tusks", stars=4, published=True)
    n.tags.add("x")
    keys = sorted(db.scan_iter())
    assert keys == sorted(
        [
            b"blog|note:id.1",
            b"blog|note:all",
            b"blog|note:_id._sequence",
            b"blog|note:_id.continuous",
            b"blog|note:_id.absolute.1",
            b"blog|note:title.absolute.Hi",
            b"blog|note:title.lex",
            b"blog|note:body.absolute.walrus tusks",
            b"blog|note:body.fts.walrus",
            b"blog|note:body.fts.tusks",
            b"blog|note:stars.continuous",
            b"blog|note:stars.absolute.4",
            b"blog|note:published.absolute.1",
            b"blog|note:container.tags.blog|note:id.1",
        ]
    )
    assert db.hgetall(b"blog|note:id.1") == {
        b"_id": b"1",
        b"title": b"Hi",
        b"body": b"walrus tusks",
        b"stars": b"4",
        b"published": b"1",
    }
    assert db.smembers(b"blog|note:all") == {b"blog|note:id.1"}
    assert db.get(b"blog|note:_id._sequence") == b"1"
    assert [tuple(p) for p in db.zrange(b"blog|note:stars.continuous", 0, -1, withscores=True)] == [
        (b"blog|note:id.1", 4.0)
    ]
    assert db.zscore(b"blog|note:body.fts.walrus", b"blog|note:id.1") == pytest.approx(-1 / 3)
    assert db.smembers(b"blog|note:title.absolute.Hi") == {b"blog|note:id.1"}


def test_rows_written_by_upstream_read_back(db: Database) -> None:
    # The hashes and indexes upstream walrus writes for the same model.
    db.hset(b"user:id.alice", mapping={"username": "alice", "age": "30", "admin": "1"})
    db.hset(b"user:id.bob", mapping={"username": "bob", "age": "25", "admin": "0"})
    db.sadd(b"user:all", b"user:id.alice", b"user:id.bob")
    db.sadd(b"user:username.absolute.alice", b"user:id.alice")
    db.sadd(b"user:username.absolute.bob", b"user:id.bob")
    db.zadd(b"user:age.continuous", {b"user:id.alice": 30, b"user:id.bob": 25})
    db.sadd(b"user:age.absolute.30", b"user:id.alice")
    db.sadd(b"user:age.absolute.25", b"user:id.bob")
    db.sadd(b"user:admin.absolute.1", b"user:id.alice")
    db.sadd(b"user:admin.absolute.0", b"user:id.bob")

    class User(Model):
        __database__ = db
        username = TextField(primary_key=True)
        age = IntegerField(index=True)
        admin = BooleanField(index=True)

    assert User.load("alice")._data == {"username": "alice", "age": 30, "admin": True}
    assert [u.username for u in User.query(User.age > 26)] == ["alice"]
    assert [u.username for u in User.query(User.age == 25)] == ["bob"]
    assert [u.username for u in User.query(User.admin == False)] == ["bob"]  # noqa: E712
    # Only the lexicographic index (our addition) is missing; rebuild_indexes adds it.
    problems = User.check_indexes()
    assert {p.kind for p in problems} == {"missing"}
    assert {p.key for p in problems} == {b"user:username.lex"}
    assert len(User.rebuild_indexes()) == 2
    assert User.check_indexes() == []
    assert [u.username for u in User.query(User.username.startswith("al"))] == ["alice"]


def test_check_and_rebuild_indexes(db: Database) -> None:
    Account = make_account(db)
    a = Account.create(email="a@x", name="ann", level=3, bio="quokka")
    Account.create(email="b@x", name="bob", level=4)
    assert Account.check_indexes() == []
    db.sadd(b"account:name.absolute.ghost", b"account:id.99")  # orphan
    db.srem(b"account:name.absolute.ann", a.get_hash_id())  # missing
    db.zadd(b"account:level.continuous", {a.get_hash_id(): 42})  # wrong score
    db.zrem(b"account:bio.fts.quokka", a.get_hash_id())  # missing
    db.srem(b"account:all", b"account:id.2")  # unlisted row
    db.sadd(b"account:all", b"account:id.77")  # dangling row
    kinds = sorted(p.kind for p in Account.check_indexes())
    assert kinds == ["dangling-row", "missing", "missing", "orphan", "unlisted-row", "wrong-score"]
    repaired = Account.rebuild_indexes()
    assert len(repaired) == 6
    assert Account.check_indexes() == []
    assert Account.get(Account.name == "ann").level == 3
    assert list(Account.query(Account.name == "ghost")) == []
    assert Account.count() == 2
    db.hset(b"account:id.2", "email", "a@x")  # a duplicate made behind the model's back
    assert "duplicate" in {p.kind for p in Account.check_indexes()}
