"""Containers on a real Redis Cluster: single-key basics, multi-key algebra within one hash
tag, and the clear error (before anything is sent) when keys span slots."""

from __future__ import annotations

import pytest

from walrus import Array, HyperLogLog, Set, ZSet
from walrus.cluster import CrossSlotError, key_slot
from walrus.database import ClusterDatabase

pytestmark = pytest.mark.cluster


def test_hash_list_array_basics(cluster_db: ClusterDatabase) -> None:
    h = cluster_db.Hash("h")
    h.update(a="1", b="2")
    h["c"] = "3"
    assert h.as_dict(decode=True) == {"a": "1", "b": "2", "c": "3"}
    del h["a"]
    assert len(h) == 2 and "a" not in h

    lst = cluster_db.List("l")
    lst.extend(["a", "b", "c"])
    lst.prepend("z")
    del lst[1]  # by index, in one MULTI/EXEC on one key
    assert lst.as_list(decode=True) == ["z", "b", "c"]
    assert lst.popleft() == b"z" and lst.bpopright(timeout=1) == b"c"

    arr = Array.from_list(cluster_db, "arr", [str(i) for i in range(12)])
    arr.append("12")
    assert arr.as_list(decode=True) == [str(i) for i in range(13)]
    assert arr.pop(0) == b"0" and arr[-1] == b"12" and "5" in arr


def test_set_and_zset_single_key(cluster_db: ClusterDatabase) -> None:
    s = Set.from_set(cluster_db, "s", ["a", "b"])
    s.add("c")
    assert s.as_set(decode=True) == {"a", "b", "c"}
    z = ZSet.from_dict(cluster_db, "z", {"a": 1, "b": 2, "c": 3})
    z.incr("a", 5)
    assert z.as_items(decode=True) == [("b", 2.0), ("c", 3.0), ("a", 6.0)]
    assert z.popmin() == [(b"b", 2.0)]


def test_set_algebra_within_one_tag(cluster_db: ClusterDatabase) -> None:
    a = Set.from_set(cluster_db, "{team}:a", ["1", "2", "3"])
    b = Set.from_set(cluster_db, "{team}:b", ["2", "3", "4"])
    assert a & b == {b"2", b"3"} and a | b == {b"1", b"2", b"3", b"4"} and a - b == {b"1"}
    dest = a.interstore("{team}:both", b)
    assert dest.members() == {b"2", b"3"}
    assert a.unionstore("{team}:any", "{team}:b").members() == {b"1", b"2", b"3", b"4"}
    a -= b
    assert a.members() == {b"1"}


def test_set_algebra_across_slots_is_refused_before_sending(cluster_db: ClusterDatabase) -> None:
    assert key_slot("x") != key_slot("y")
    x = Set.from_set(cluster_db, "x", ["1", "2"])
    y = Set.from_set(cluster_db, "y", ["2"])
    with pytest.raises(
        CrossSlotError, match="SINTER needs its keys in one Redis Cluster hash slot.*'x'.*'y'"
    ):
        x & y
    with pytest.raises(CrossSlotError, match="SUNIONSTORE.*'dest'"):
        x.unionstore("dest", "{x}other")
    with pytest.raises(CrossSlotError):
        x -= y
    with pytest.raises(ValueError):  # CrossSlotError is a ValueError too
        x.diffstore("{x}d", y)
    assert x.members() == {b"1", b"2"} and y.members() == {b"2"}
    assert not cluster_db.exists("dest") and not cluster_db.exists("{x}d")


def test_zset_store_within_tag_and_across_slots(cluster_db: ClusterDatabase) -> None:
    a = ZSet.from_dict(cluster_db, "{rank}a", {"m": 1, "n": 2})
    ZSet.from_dict(cluster_db, "{rank}b", {"m": 10})
    assert a.unionstore("{rank}u", "{rank}b").as_items(decode=True) == [("n", 2.0), ("m", 11.0)]
    assert a.interstore("{rank}i", "{rank}b", aggregate="MAX").as_items(decode=True) == [
        ("m", 10.0)
    ]
    with pytest.raises(CrossSlotError, match="ZINTERSTORE"):
        a.interstore("elsewhere", "{rank}b")
    assert not cluster_db.exists("elsewhere")


def test_hyperloglog_within_tag_and_across_slots(cluster_db: ClusterDatabase) -> None:
    one = HyperLogLog(cluster_db, "{hll}1")
    two = HyperLogLog(cluster_db, "{hll}2")
    one.add("a", "b")
    two.add("b", "c")
    assert len(one) == 2 and one.count(two) == 3
    assert len(one.merge("{hll}m", two)) == 3
    other = HyperLogLog(cluster_db, "other")
    other.add("z")
    with pytest.raises(CrossSlotError, match="PFCOUNT"):
        one.count(other)
    with pytest.raises(CrossSlotError, match="PFMERGE"):
        one.merge("{hll}m2", other)
    assert not cluster_db.exists("{hll}m2")


def test_consumer_group_streams_share_a_tag(cluster_db: ClusterDatabase) -> None:
    cg = cluster_db.consumer_group("g", ["{ev}a", "{ev}b"])
    cg.create()
    cluster_db.Stream("{ev}a").add({"x": "1"})
    cluster_db.Stream("{ev}b").add({"y": "2"})
    assert sorted(key for key, _ in cg.read()) == [b"{ev}a", b"{ev}b"]
    spread = cluster_db.consumer_group("g", ["sa", "sb"])
    assert key_slot("sa") != key_slot("sb")
    with pytest.raises(CrossSlotError, match="XREADGROUP"):
        spread.read()
