"""walrus.Hash: dict-like interface over a Redis hash."""

from __future__ import annotations

import pytest

from walrus import Database, Hash
from walrus.containers.errors import ContainerTypeError, ContainerValueError
from walrus.roundtrips import RoundTripCounter


def test_item_access_and_missing_fields(db: Database) -> None:
    h = db.Hash("h")
    assert h["missing"] is None
    assert len(h) == 0
    h["a"] = 1
    h["b"] = "two"
    h[b"c"] = 3.5
    assert h["a"] == b"1"
    assert h["b"] == b"two"
    assert h["c"] == b"3.5"
    assert h["a", "c", "zz"] == [b"1", b"3.5", None]
    assert h[["b", "a"]] == [b"two", b"1"]
    assert "a" in h and "zz" not in h
    assert len(h) == 3
    del h["a"]
    del h["not-there"]  # ignored, as upstream walrus
    assert "a" not in h
    assert h.get("a") is None and h.get("a", "dflt") == "dflt" and h.get("b") == b"two"
    assert db.hgetall("h") == {b"b": b"two", b"c": b"3.5"}


def test_keys_values_items_and_as_dict(db: Database) -> None:
    h = db.Hash("h")
    h.update({"k1": "v1", "k2": "v2"}, k3="v3")
    assert sorted(h.keys()) == [b"k1", b"k2", b"k3"]
    assert sorted(h.values()) == [b"v1", b"v2", b"v3"]
    assert sorted(h.items()) == [(b"k1", b"v1"), (b"k2", b"v2"), (b"k3", b"v3")]
    lazy = h.items(lazy=True)
    assert not isinstance(lazy, list)
    assert sorted(lazy) == [(b"k1", b"v1"), (b"k2", b"v2"), (b"k3", b"v3")]
    assert sorted(h) == [(b"k1", b"v1"), (b"k2", b"v2"), (b"k3", b"v3")]
    assert h.as_dict() == {b"k1": b"v1", b"k2": b"v2", b"k3": b"v3"}
    assert h.as_dict(decode=True) == {"k1": "v1", "k2": "v2", "k3": "v3"}


def test_update_variants_do_not_mutate_input(db: Database) -> None:
    h = db.Hash("h")
    data = {"a": 1}
    h.update(data, b=2)
    assert data == {"a": 1}
    h.update([("c", 3), ("d", 4)])
    h.update()
    assert h.as_dict(decode=True) == {"a": "1", "b": "2", "c": "3", "d": "4"}


def test_update_returns_the_hash_for_chaining(db: Database) -> None:
    h = db.Hash("h")
    assert h.update(a=1) is h  # as upstream walrus's chainable update
    assert h.update() is h
    assert h.update(b=2).update(c=3).as_dict(decode=True) == {"a": "1", "b": "2", "c": "3"}


def test_iteration_pages_through_hscan(db: Database) -> None:
    h = db.Hash("big")
    h.update({f"f{i}": i for i in range(600)})
    seen = dict(h)
    assert len(seen) == 600
    assert seen[b"f599"] == b"599"


def test_incr_int_and_float(db: Database) -> None:
    h = db.Hash("h")
    assert h.incr("n") == 1
    assert h.incr("n", 5) == 6
    assert h.incr("n", -10) == -4
    assert h.incr("f", 1.5) == 1.5
    assert h.incr("f", 0.25) == 1.75
    h["s"] = "text"
    with pytest.raises(ContainerValueError, match="'s'"):
        h.incr("s")
    with pytest.raises(ContainerTypeError, match="incr_by"):
        h.incr("n", "2")  # type: ignore[arg-type]
    assert h["n"] == b"-4" and h["s"] == b"text"


def test_search_with_pattern_and_count(db: Database) -> None:
    h = db.Hash("h")
    h.update({"user:1": "a", "user:2": "b", "admin:1": "c"})
    assert sorted(h.search("user:*")) == [(b"user:1", b"a"), (b"user:2", b"b")]
    assert len(list(h.search("*", count=2))) == 2
    assert list(h.search("none*")) == []


def test_setnx_and_from_dict(db: Database) -> None:
    h = db.Hash("h")
    assert h.setnx("a", 1) is True
    assert h.setnx("a", 2) is False
    assert h["a"] == b"1"
    h2 = Hash.from_dict(db, "h", {"b": 2})
    assert h2.as_dict() == {b"a": b"1", b"b": b"2"}
    h3 = Hash.from_dict(db, "h", {"c": 3}, clear=True)
    assert h3.as_dict() == {b"c": b"3"}
    assert Hash.from_dict(db, "h", {}, clear=True).as_dict() == {}
    assert db.exists("h") == 0


def test_bad_values_rejected_before_writing(db: Database) -> None:
    h = db.Hash("h")
    h["keep"] = "x"
    with pytest.raises(ContainerTypeError, match="value of field 'a'.*dict"):
        h["a"] = {"nested": 1}
    with pytest.raises(ContainerTypeError, match="field must be"):
        h[None] = 1  # type: ignore[index]
    with pytest.raises(ContainerTypeError, match="value of field 'ok'.*NoneType"):
        h.update({"good": 1, "ok": None})
    with pytest.raises(ContainerTypeError, match="bool"):
        h["b"] = True
    with pytest.raises(TypeError):
        h.update(5)
    assert h.as_dict() == {b"keep": b"x"}


def test_one_round_trip_each(db: Database) -> None:
    h = db.Hash("h")
    h.update(a=1, b=2)
    with RoundTripCounter() as rt:
        h.update(c=3, d=4)
        h["a", "b"]
        h.as_dict()
        h.incr("n")
        "a" in h  # noqa: B015
    assert rt.count == 5


def test_decode_responses_database(redis_url: str) -> None:
    db = Database.from_url(redis_url, decode_responses=True)
    h = db.Hash("h")
    h.update(a="é")
    assert h["a"] == "é"
    assert h.as_dict(decode=True) == {"a": "é"}
    db.close()
