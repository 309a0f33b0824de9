"""Containers: every public method given random types and sizes (Hash, List, Set, ZSet,
Array, Stream, BitField, BloomFilter, HyperLogLog), on a real redis-server holding one
key of each type. A refusal is a clear error and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given

from tests.bad_input.harness import SETTINGS, VALUES, outcome, restore, snapshot
from walrus import Database

pytestmark = pytest.mark.backends("resp2")


_SEEDED: dict[str, Any] = {}


def seed(db: Database) -> None:
    """One key of each type the containers below work on (and a plain string); built once,
    then restored from its DUMP payloads (1 round trip per example)."""
    if "state" in _SEEDED:
        restore(db, _SEEDED["state"])
        return
    db.flushdb()
    db.Hash("h").update({"f": "v", "n": 1})
    db.List("l").extend(["a", "b", "c"])
    db.Set("s").add("a", "b")
    db.ZSet("z").add({"a": 1, "b": 2.5})
    db.Array("arr").extend(["x", "y"])
    db.Stream("st").add({"k": "v"}, id="1-1")
    db.set("plain", "text")
    db.bit_field("bits").set("u8", 0, 7).execute()
    _SEEDED["state"] = snapshot(db)


Op = Callable[[Database, Any, Any], Any]
OPS: dict[str, Op] = {
    # Hash
    "Hash[v]": lambda db, v, w: db.Hash("h")[v],
    "Hash[v] = w": lambda db, v, w: db.Hash("h").__setitem__(v, w),
    "del Hash[v]": lambda db, v, w: db.Hash("h").__delitem__(v),
    "v in Hash": lambda db, v, w: v in db.Hash("h"),
    "Hash.get": lambda db, v, w: db.Hash("h").get(v, w),
    "Hash.setnx": lambda db, v, w: db.Hash("h").setnx(v, w),
    "Hash.update(dict)": lambda db, v, w: db.Hash("h").update({v: w} if _hashable(v) else v),
    "Hash.update(positional)": lambda db, v, w: db.Hash("h").update(v),
    "Hash.incr": lambda db, v, w: db.Hash("h").incr(v, w),
    "Hash.incr_float": lambda db, v, w: db.Hash("h").incr_float("n", w),
    "Hash.search": lambda db, v, w: db.Hash("h").search(v, w),
    "Hash.as_dict": lambda db, v, w: db.Hash(v).as_dict(),
    # List
    "List[v]": lambda db, v, w: db.List("l")[v],
    "List[v] = w": lambda db, v, w: db.List("l").__setitem__(v, w),
    "del List[v]": lambda db, v, w: db.List("l").__delitem__(v),
    "v in List": lambda db, v, w: v in db.List("l"),
    "List.append": lambda db, v, w: db.List("l").append(v),
    "List.prepend": lambda db, v, w: db.List("l").prepend(v),
    "List.extend": lambda db, v, w: db.List("l").extend(v),
    "List.insert": lambda db, v, w: db.List("l").insert(v, "b", w),
    "List.insert_before": lambda db, v, w: db.List("l").insert_before(v, w),
    "List.move_tail": lambda db, v, w: db.List("l").move_tail(v),
    # Set
    "v in Set": lambda db, v, w: v in db.Set("s"),
    "Set.add": lambda db, v, w: db.Set("s").add(v, w),
    "Set.remove": lambda db, v, w: db.Set("s").remove(v),
    "del Set[v]": lambda db, v, w: db.Set("s").__delitem__(v),
    "Set.random": lambda db, v, w: db.Set("s").random(v),
    "Set.search": lambda db, v, w: db.Set("s").search(v, w),
    "Set | v": lambda db, v, w: _operator(lambda: db.Set("s") | v),
    "Set.unionstore": lambda db, v, w: db.Set("s").unionstore(v, w),
    # ZSet
    "v in ZSet": lambda db, v, w: v in db.ZSet("z"),
    "ZSet[v] = w": lambda db, v, w: db.ZSet("z").__setitem__(v, w),
    "ZSet[v]": lambda db, v, w: db.ZSet("z")[v],
    "del ZSet[v]": lambda db, v, w: db.ZSet("z").__delitem__(v),
    "ZSet.add(mapping)": lambda db, v, w: db.ZSet("z").add({v: w} if _hashable(v) else v),
    "ZSet.add(pairs)": lambda db, v, w: db.ZSet("z").add(v, w),
    "ZSet.incr": lambda db, v, w: db.ZSet("z").incr(v, w),
    "ZSet.remove_by_rank": lambda db, v, w: db.ZSet("z").remove_by_rank(v, w),
    "ZSet.remove_by_score": lambda db, v, w: db.ZSet("z").remove_by_score(v, w),
    "ZSet.remove_by_lex": lambda db, v, w: db.ZSet("z").remove_by_lex(v, w),
    "ZSet.score": lambda db, v, w: db.ZSet("z").score(v),
    "ZSet.rank": lambda db, v, w: db.ZSet("z").rank(v, w),
    "ZSet.count": lambda db, v, w: db.ZSet("z").count(v, w),
    "ZSet.lex_count": lambda db, v, w: db.ZSet("z").lex_count(v, w),
    "ZSet.range": lambda db, v, w: db.ZSet("z").range(v, w),
    "ZSet.range_by_score": lambda db, v, w: db.ZSet("z").range_by_score(v, w),
    "ZSet.range_by_lex": lambda db, v, w: db.ZSet("z").range_by_lex(v, w),
    "ZSet.popmin": lambda db, v, w: db.ZSet("z").popmin(v),
    "ZSet.popmax_compat": lambda db, v, w: db.ZSet("z").popmax_compat(v),
    "ZSet.search": lambda db, v, w: db.ZSet("z").search(v, w),
    # Array
    "Array[v]": lambda db, v, w: db.Array("arr")[v],
    "Array[v] = w": lambda db, v, w: db.Array("arr").__setitem__(v, w),
    "del Array[v]": lambda db, v, w: db.Array("arr").__delitem__(v),
    "Array.pop": lambda db, v, w: db.Array("arr").pop(v),
    "Array.append": lambda db, v, w: db.Array("arr").append(v),
    "Array.extend": lambda db, v, w: db.Array("arr").extend(v),
    "v in Array": lambda db, v, w: v in db.Array("arr"),
    # Stream
    "Stream.add(data)": lambda db, v, w: db.Stream("st").add(v),
    "Stream.add({v: w})": lambda db, v, w: db.Stream("st").add({v: w} if _hashable(v) else v),
    "Stream.add(id)": lambda db, v, w: db.Stream("st").add({"k": "v"}, id=v, maxlen=w),
    "Stream[v]": lambda db, v, w: db.Stream("st")[v],
    "Stream.get": lambda db, v, w: db.Stream("st").get(v),
    "del Stream[v]": lambda db, v, w: db.Stream("st").__delitem__(v),
    "Stream.range": lambda db, v, w: db.Stream("st").range(v, "+", w),
    "Stream.trim(count)": lambda db, v, w: db.Stream("st").trim(count=v),
    "Stream.trim(minid)": lambda db, v, w: db.Stream("st").trim(minid=v, limit=w),
    "Stream.set_id": lambda db, v, w: db.Stream("st").set_id(v),
    "Stream.read": lambda db, v, w: db.Stream("st").read(count=v, last_id=w),
    # BitField, BloomFilter, HyperLogLog
    "BitField.get": lambda db, v, w: db.bit_field("bits").get(v, w).execute(),
    "BitField.set": lambda db, v, w: db.bit_field("bits").set("u8", v, w).execute(),
    "BitField.incrby": lambda db, v, w: db.bit_field("bits").incrby(v, 0, w).execute(),
    "BitField[v]": lambda db, v, w: db.bit_field("bits")[v],
    "BitField.set_bit": lambda db, v, w: db.bit_field("bits").set_bit(v, w),
    "BitField.get_bit": lambda db, v, w: db.bit_field("bits").get_bit(v),
    "BitField.bit_count": lambda db, v, w: db.bit_field("bits").bit_count(v, w),
    "BloomFilter(size)": lambda db, v, w: db.bloom_filter("bloom", v).add("x"),
    "BloomFilter.add": lambda db, v, w: db.bloom_filter("bloom").add(v),
    "v in BloomFilter": lambda db, v, w: db.bloom_filter("bloom").contains(v),
    "HyperLogLog.add": lambda db, v, w: db.HyperLogLog("hll").add(v),
    # Any container: expiry, and the key itself
    "Container.expire": lambda db, v, w: db.Hash("h").expire(v),
    "Container.pexpire": lambda db, v, w: db.List("l").pexpire(v),
    "Hash(v)[f] = x": lambda db, v, w: db.Hash(v).__setitem__("f", "x"),
    "ZSet(v).add": lambda db, v, w: db.ZSet(v).add({"m": 1}),
}

# Known bugs, reported: these inputs are left to tests/bad_input/test_known_bugs.py, which
# pins each one with a strict xfail.
KNOWN: dict[str, Callable[[Any, Any], bool]] = {}


def _operator(call: Callable[[], Any]) -> Any:
    """Python's answer when ``__or__`` returns NotImplemented is a TypeError naming both
    operand types: the protocol at work, not an internal error."""
    try:
        return call()
    except TypeError as exc:
        if str(exc).startswith("unsupported operand type(s) for |: 'Set'"):
            return NotImplemented
        raise


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(OPS))
@SETTINGS
@given(v=VALUES, w=VALUES)
def test_container_method(db: Database, name: str, v: Any, w: Any) -> None:
    if name in KNOWN and KNOWN[name](v, w):
        return
    seed(db)
    result = outcome(db, lambda: OPS[name](db, v, w), f"{name} with v={v!r:.80}, w={w!r:.80}")
    if result.refused:  # the message says what was wrong with what
        assert str(result.error)
