"""What every container inherits from ``Container``: expire / pexpire / dump / clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from walrus import Database
from walrus.containers import Container
from walrus.containers.errors import ContainerTypeError
from walrus.roundtrips import RoundTripCounter

# Each container type with a way to give it some content.
FILLERS: list[tuple[str, Callable[[Database], Container]]] = [
    ("Hash", lambda db: db.Hash("c").update(a=1, b=2)),
    ("List", lambda db: _after(db.List("c"), lambda c: c.extend(["x", "y"]))),
    ("Set", lambda db: _after(db.Set("c"), lambda c: c.add("x", "y"))),
    ("ZSet", lambda db: _after(db.ZSet("c"), lambda c: c.add({"x": 1, "y": 2}))),
    ("Array", lambda db: _after(db.Array("c"), lambda c: c.extend(["x", "y"]))),
    ("HyperLogLog", lambda db: _after(db.HyperLogLog("c"), lambda c: c.add("x", "y"))),
    ("Stream", lambda db: _after(db.Stream("c"), lambda c: c.add({"f": "v"}, id="1-0"))),
    ("BitField", lambda db: _after(db.bit_field("c"), lambda c: c.set("u8", 0, 255).execute())),
]
IDS = [name for name, _ in FILLERS]


def _after(container: Container, fill: Callable[[Any], Any]) -> Container:
    fill(container)
    return container


@pytest.mark.parametrize(("name", "fill"), FILLERS, ids=IDS)
def test_expire_and_persist(db: Database, name: str, fill: Callable[[Database], Container]) -> None:
    container = fill(db)
    assert container.expire(100) is True
    assert 0 < db.ttl("c") <= 100
    assert container.expire(None) is True  # PERSIST
    assert db.ttl("c") == -1
    assert container.expire() is False  # nothing left to persist
    assert container.expire(timedelta(minutes=5)) is True
    assert 100 < db.ttl("c") <= 300


@pytest.mark.parametrize(("name", "fill"), FILLERS, ids=IDS)
def test_pexpire_and_persist(
    db: Database, name: str, fill: Callable[[Database], Container]
) -> None:
    container = fill(db)
    assert container.pexpire(50_000) is True
    assert 0 < db.pttl("c") <= 50_000
    assert container.pexpire(None) is True
    assert db.pttl("c") == -1
    assert container.pexpire(timedelta(seconds=20)) is True
    assert 10_000 < db.pttl("c") <= 20_000


def test_expire_on_missing_key_is_false(db: Database) -> None:
    assert db.Hash("missing").expire(10) is False
    assert db.List("missing").pexpire(10_000) is False
    assert db.Set("missing").expire(None) is False
    assert db.exists("missing") == 0


@pytest.mark.parametrize("bad", ["10", 1.5, True, object()])
def test_bad_ttl_is_refused_before_sending(db: Database, bad: Any) -> None:
    container = db.Hash("c").update(a=1)
    with RoundTripCounter() as rt:
        with pytest.raises(ContainerTypeError, match="ttl must be an int number of seconds"):
            container.expire(bad)
        with pytest.raises(ContainerTypeError, match="ttl must be an int number of milliseconds"):
            container.pexpire(bad)
    assert rt.count == 0
    assert db.ttl("c") == -1


# How to read each type's content back, to compare it before and after a DUMP/RESTORE (the
# payload bytes themselves may differ: a restored hash table can iterate in another order).
READERS: dict[str, Callable[[Any], Any]] = {
    "Hash": lambda c: c.as_dict(),
    "List": lambda c: c.as_list(),
    "Set": lambda c: c.as_set(),
    "ZSet": lambda c: c.as_items(),
    "Array": lambda c: c.as_list(),
    "HyperLogLog": len,
    "Stream": lambda c: c.range(),
    "BitField": lambda c: c.database.get(c.key),
}


@pytest.mark.parametrize(("name", "fill"), FILLERS, ids=IDS)
def test_dump_restores_to_the_same_content(
    db: Database, name: str, fill: Callable[[Database], Container]
) -> None:
    container = fill(db)
    content = READERS[name](container)
    payload = container.dump()
    assert isinstance(payload, bytes) and payload
    # Restored under a key of the same slot (for a cluster), then moved back over "c".
    db.restore("{c}copy", 0, payload)
    db.delete("c")
    assert db.exists("c") == 0
    db.rename("{c}copy", "c")
    assert READERS[name](container) == content


def test_dump_of_missing_key_is_none(db: Database) -> None:
    assert db.ZSet("missing").dump() is None


@pytest.mark.parametrize(("name", "fill"), FILLERS, ids=IDS)
def test_clear_deletes_the_key_and_chains(
    db: Database, name: str, fill: Callable[[Database], Container]
) -> None:
    container = fill(db)
    db.set("neighbour", "kept")
    with RoundTripCounter() as rt:
        assert container.clear() is container  # upstream walrus returns the container
    assert rt.count == 1
    assert db.exists("c") == 0
    assert db.get("neighbour") == b"kept"
    assert container.clear() is container  # clearing a missing key is fine


def test_clear_chains_into_other_calls(db: Database) -> None:
    h = db.Hash("h").update(old=1)
    assert h.clear().update(new=2).as_dict() == {b"new": b"2"}


def test_clear_refuses_arguments(db: Database) -> None:
    # The reference shows clear(*args, **kwargs): upstream's chaining decorator, around a
    # method that takes no arguments, so any argument was a TypeError there too.
    h = db.Hash("h").update(a=1)
    with pytest.raises(TypeError):
        h.clear("h")  # type: ignore[call-arg]
    assert db.exists("h") == 1
