"""walrus.models: __unique_together__, and concurrent unique writes and updates."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from walrus import Database
from walrus.exceptions import WalrusError
from walrus.models import IntegerField, Model, TextField, UniqueError
from walrus.roundtrips import RoundTripCounter


def snapshot(db: Database) -> dict[bytes, Any]:
    return {key: db.dump(key) for key in db.scan_iter()}


def make_person(db: Database) -> type[Model]:
    class Person(Model):
        __database__ = db
        __unique_together__ = [("first", "last")]
        first = TextField()
        last = TextField(index=True)
        seat = IntegerField()
        age = IntegerField(default=0)

    return Person


def test_unique_together_refuses_a_taken_combination(db: Database) -> None:
    Person = make_person(db)
    Person.create(first="Ada", last="Lovelace")
    Person.create(first="Ada", last="Byron")  # one field equal is fine
    Person.create(first="Grace", last="Lovelace")
    before = snapshot(db)
    with pytest.raises(UniqueError) as info:
        Person.create(first="Ada", last="Lovelace", age=3)
    error = info.value
    assert isinstance(error, WalrusError) and isinstance(error, ValueError)
    assert error.fields == ("first", "last")
    assert error.field == "first, last"
    assert error.value == ("Ada", "Lovelace")
    assert "first, last" in str(error) and "'Ada', 'Lovelace'" in str(error)
    assert snapshot(db) == before  # nothing written, no key allocated
    assert Person.create(first="Alan", last="Turing")._id == 4
    assert Person.check_indexes() == []


def test_unique_together_indexes_its_fields_and_ignores_none(db: Database) -> None:
    Person = make_person(db)
    assert "first" in Person._indexed  # indexed for the check, so filterable too
    Person.create(first="Ada", last=None)
    Person.create(first="Ada", last=None)  # a None value never conflicts
    assert len(list(Person.query(Person.first == "Ada"))) == 2


def test_unique_together_on_update_and_own_value(db: Database) -> None:
    Person = make_person(db)
    a = Person.create(first="Ada", last="Lovelace")
    b = Person.create(first="Ada", last="Byron")
    a.age = 36
    a.save()  # keeping its own combination is fine
    b.last = "Lovelace"
    with pytest.raises(UniqueError, match="first, last"):
        b.save()
    assert Person.load(b._id).last == "Byron"
    b.first = "Augusta"
    b.save()  # (Augusta, Lovelace) is free
    assert Person.load(b._id)._data["first"] == "Augusta"
    assert Person.check_indexes() == []


def test_unique_together_with_integer_fields_and_incr(db: Database) -> None:
    class Booking(Model):
        __database__ = db
        __unique_together__ = (("room", "slot"),)
        room = TextField()
        slot = IntegerField()

    Booking.create(room="a", slot=1)
    b = Booking.create(room="a", slot=2)
    Booking.create(room="b", slot=3)
    with pytest.raises(UniqueError) as info:
        b.incr(Booking.slot, -1)  # (a, 1) is taken
    assert info.value.fields == ("room", "slot")
    assert Booking.load(b._id).slot == 2
    assert b.incr(Booking.slot, 1) == 3  # (a, 3) is free: only (b, 3) exists
    assert [x.room for x in Booking.query(Booking.slot == 3)] == ["a", "b"]
    assert Booking.check_indexes() == []
    # A stale instance: the guard sees the other field changed and re-checks.
    stale = Booking.load(b._id)
    fresh = Booking.load(b._id)
    fresh.room = "b"
    with pytest.raises(UniqueError):
        fresh.save()  # (b, 3) is taken
    fresh.room = "c"
    fresh.save()
    assert stale.incr(Booking.slot, 1) == 4
    assert Booking.load(b._id)._data == {"_id": b._id, "room": "c", "slot": 4}
    assert Booking.check_indexes() == []


def test_unique_together_costs_one_round_trip(db: Database) -> None:
    Person = make_person(db)
    Person.create(first="warm", last="up")
    with RoundTripCounter() as rt:
        p = Person(first="x", last="y", _id=100)
        p.save()
    assert rt.count == 1


def test_unique_together_definition_errors(db: Database) -> None:
    for bad, message in [
        ("first", "list of tuples"),
        ([("first",)], "two or more"),
        ([("first", "nope")], "'nope' is not a stored field"),
        ([("first", "first")], "repeats"),
        ([["first", 3]], "3 is not a stored field"),
    ]:
        with pytest.raises(TypeError, match=message):
            type(
                "Bad",
                (Model,),
                {"__database__": db, "__unique_together__": bad, "first": TextField()},
            )


def test_check_indexes_reports_duplicate_combinations(db: Database) -> None:
    Person = make_person(db)
    Person.create(first="Ada", last="Lovelace")
    Person.create(first="Ada", last="Byron")
    # Bypass the model: a second row with the same combination.
    db.hset(b"person:id.2", "last", "Lovelace")
    problems = [p for p in Person.check_indexes() if p.kind == "duplicate"]
    assert len(problems) == 1
    assert problems[0].key == b"person:first,last"
    assert problems[0].member == b"Ada\x00Lovelace"


def test_concurrent_unique_together_creates_one_winner(db: Database) -> None:
    Person = make_person(db)
    barrier = threading.Barrier(8)
    wins: list[int] = []
    losses: list[int] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            Person.create(first="Ada", last="Lovelace", age=i)
            wins.append(i)
        except UniqueError:
            losses.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7
    assert Person.count() == 1
    assert Person.check_indexes() == []


def test_concurrent_unique_updates_and_creates_keep_indexes_consistent(db: Database) -> None:
    """8 workers race on unique values and unique-together combinations with creates,
    updates (save of stale instances), increments and deletes; afterwards no unique value is
    shared and the checker reports nothing."""

    class Member(Model):
        __database__ = db
        __unique_together__ = [("team", "number")]
        email = TextField(unique=True)
        badge = IntegerField(unique=True)
        team = TextField(index=True)
        number = IntegerField(index=True)
        score = IntegerField(index=True, default=0)

    for i in range(6):
        Member.create(email=f"seed{i}@x", badge=i, team=f"t{i % 2}", number=i)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(40):
                action = rng.choice(["create", "update", "update", "incr", "delete"])
                try:
                    if action == "create":
                        Member.create(
                            email=f"u{rng.randrange(12)}@x",
                            badge=rng.randrange(100, 112),
                            team=f"t{rng.randrange(2)}",
                            number=rng.randrange(10),
                        )
                        continue
                    rows = list(Member.query())
                    if not rows:
                        continue
                    row = rng.choice(rows)
                    if action == "update":
                        row.email = f"u{rng.randrange(12)}@x"
                        row.badge = rng.randrange(100, 112)
                        row.number = rng.randrange(10)
                        row.save()
                    elif action == "incr":
                        row.incr(Member.score, rng.randrange(1, 4))
                    else:
                        row.delete()
                except (UniqueError, KeyError):
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Member.check_indexes() == []
    rows = list(Member.query())
    assert len({r.email for r in rows}) == len(rows)
    assert len({r.badge for r in rows}) == len(rows)
    assert len({(r.team, r.number) for r in rows}) == len(rows)
