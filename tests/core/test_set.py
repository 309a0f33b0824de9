"""walrus.Set: set-like interface over a Redis set."""

from __future__ import annotations

import pytest

from walrus import Database, Set
from walrus.containers.errors import ContainerTypeError
from walrus.roundtrips import RoundTripCounter


def test_add_remove_contains_len(db: Database) -> None:
    s = db.Set("s")
    assert s.add("a", "b", 3) == 3
    assert s.add("a") == 0
    assert s.add() == 0
    assert len(s) == 3
    assert "a" in s and b"3" in s and 3 in s and "z" not in s
    assert s.remove("a", "zz") == 1
    assert s.remove() == 0
    del s["b"]
    assert s.members() == {b"3"}
    assert s.as_set() == {b"3"} and s.as_set(decode=True) == {"3"}


def test_iteration_search_pop_random(db: Database) -> None:
    s = db.Set("s")
    s.add(*[f"m{i}" for i in range(500)], "other")
    assert set(s) == {f"m{i}".encode() for i in range(500)} | {b"other"}
    assert set(s.search("m1?")) == {f"m{i}".encode() for i in range(10, 20)}
    assert len(list(s.search("m*", count=7))) == 7
    one = s.random()
    assert one in s.members()
    picked = s.random(5)
    assert len(picked) == 5 and len(set(picked)) == 5
    assert len(s.random(-600)) == 600
    popped = s.pop()
    assert popped not in s and len(s) == 500
    assert db.Set("empty").pop() is None and db.Set("empty").random() is None
    assert db.Set("empty").random(3) == []


def test_operators(db: Database) -> None:
    a = Set.from_set(db, "a", ["1", "2", "3"])
    b = Set.from_set(db, "b", ["2", "3", "4"])
    assert a & b == {b"2", b"3"}
    assert a | b == {b"1", b"2", b"3", b"4"}
    assert a - b == {b"1"}
    assert b - a == {b"4"}
    with pytest.raises(TypeError):
        a & {"2"}  # type: ignore[operator]
    c = Set.from_set(db, "c", ["1", "2"])
    c |= b
    assert c.members() == {b"1", b"2", b"3", b"4"}
    c -= a
    assert c.members() == {b"4"}
    c &= b
    assert c.members() == {b"4"}
    assert isinstance(c, Set) and c.key == "c"


def test_store_methods_return_containers(db: Database) -> None:
    a = Set.from_set(db, "a", ["1", "2", "3"])
    b = Set.from_set(db, "b", ["2", "3", "4"])
    Set.from_set(db, "c", ["3", "9"])
    inter = a.interstore("dest1", b, "c")
    assert isinstance(inter, Set) and inter.key == "dest1" and inter.members() == {b"3"}
    union = a.unionstore("dest2", b)
    assert union.members() == {b"1", b"2", b"3", b"4"}
    diff = a.diffstore("dest3", b)
    assert diff.members() == {b"1"}
    db.delete("dest4")
    db.rpush("dest4", "x")  # a store overwrites whatever dest holds
    assert a.unionstore("dest4", b).members() == {b"1", b"2", b"3", b"4"}
    with pytest.raises(ContainerTypeError, match="Set objects or key names"):
        a.unionstore("dest5", 42)
    with pytest.raises(ContainerTypeError, match="dest"):
        a.unionstore(None, b)
    assert not db.exists("dest5")


def test_from_set_and_bad_members(db: Database) -> None:
    s = Set.from_set(db, "s", {"x"})
    assert Set.from_set(db, "s", ["y"], clear=True).members() == {b"y"}
    with pytest.raises(ContainerTypeError, match="member must be"):
        s.add("ok", ["unhashable"])
    with pytest.raises(ContainerTypeError):
        Set.from_set(db, "s", 5)  # type: ignore[arg-type]
    assert s.members() == {b"y"}


def test_round_trips(db: Database) -> None:
    a = Set.from_set(db, "a", ["1", "2"])
    b = Set.from_set(db, "b", ["2"])
    with RoundTripCounter() as rt:
        a.add("3", "4")
        "1" in a  # noqa: B015
        a.members()
        a.interstore("d", b)
    assert rt.count == 4
