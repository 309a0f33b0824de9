"""walrus.HyperLogLog: approximate distinct counting."""

from __future__ import annotations

import pytest

from walrus import Database, HyperLogLog
from walrus.containers.errors import ContainerTypeError
from walrus.roundtrips import RoundTripCounter


def test_add_and_len(db: Database) -> None:
    hll = db.HyperLogLog("h")
    assert len(hll) == 0
    assert hll.add("a", "b", "c") is True
    assert hll.add("a") is False
    assert len(hll) == 3
    hll.add(*range(1000))
    assert 980 <= len(hll) <= 1020


def test_merge_count_and_ior(db: Database) -> None:
    a = db.HyperLogLog("a")
    b = db.HyperLogLog("b")
    a.add("1", "2", "3")
    b.add("3", "4")
    assert a.count(b) == 4 and a.count("b") == 4 and a.count() == 3
    merged = a.merge("m", b)
    assert isinstance(merged, HyperLogLog) and merged.key == "m" and len(merged) == 4
    assert len(a) == 3
    c = db.HyperLogLog("c")
    c.add("9")
    c |= a
    assert len(c) == 4 and c.key == "c"
    with pytest.raises(ContainerTypeError, match="HyperLogLog objects or key names"):
        a.merge("m2", 5)
    with pytest.raises(ContainerTypeError, match="item must be"):
        a.add("x", None)
    assert not db.exists("m2") and len(a) == 3


def test_round_trips(db: Database) -> None:
    a = db.HyperLogLog("a")
    with RoundTripCounter() as rt:
        a.add("x", "y")
        len(a)
        a.merge("m", "b")
    assert rt.count == 3
