"""Writes of more values than one Lua call can take (unpack() fails beyond about 8000): the
write scripts split them into calls on the same key, with the same replies and index entries
as one command, and still in one script (one round trip, atomic)."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from limpyd import fields, model
from limpyd.database import RedisDatabase
from limpyd.exceptions import UniquenessError
from limpyd.indexes import EqualIndex
from walrus.roundtrips import RoundTripCounter

MANY = 9_500  # above Lua's unpack() limit


def _bag(db: RedisDatabase, configured: bool) -> Any:
    # configured=True takes limpyd's own write scripts (client-computed index operations)
    indexes = [EqualIndex, EqualIndex.configure(prefix="up", transform=str.upper)]

    class Bag(model.RedisModel):
        database = db
        namespace = "big"
        tags = fields.SetField(indexable=True, indexes=indexes if configured else None)
        ranks = fields.SortedSetField(indexable=True)
        queue = fields.ListField(indexable=True)
        plain = fields.SetField()

    return Bag


@pytest.mark.parametrize("configured", [False, True], ids=["plain-index", "configured-index"])
def test_a_set_write_of_many_values_is_one_atomic_call(
    limpyd_db: RedisDatabase, raw: redis.Redis, helpers: Any, configured: bool
) -> None:
    Bag = _bag(limpyd_db, configured)
    bag = Bag(tags=["t0"])
    values = [f"t{i}" for i in range(MANY)]
    with RoundTripCounter() as rt:
        assert bag.tags.sadd(*values) == MANY - 1  # t0 was there
    assert rt.count <= 2  # configured indexes: the entries are read first, then written
    assert raw.scard(bag.tags.key) == MANY
    assert list(Bag.collection(tags="t9400")) == [bag.get_pk()]
    if configured:
        assert list(Bag.collection(tags__up="T9400")) == [bag.get_pk()]
    else:
        helpers.assert_index_consistent(raw, Bag, "tags")
    assert bag.tags.srem(*values[1:]) == MANY - 1
    assert raw.smembers(bag.tags.key) == {"t0"}
    assert list(Bag.collection(tags="t9400")) == []
    assert list(Bag.collection(tags="t0")) == [bag.get_pk()]
    if configured:
        assert list(Bag.collection(tags__up="T9400")) == []
        assert list(Bag.collection(tags__up="T0")) == [bag.get_pk()]
    else:
        helpers.assert_index_consistent(raw, Bag, "tags")
    prefix = Bag.get_field("tags").index_prefix
    assert len(list(raw.scan_iter(match=prefix + "*", count=1000))) == (2 if configured else 1)


def test_sorted_set_and_list_writes_of_many_values(
    limpyd_db: RedisDatabase, raw: redis.Redis, helpers: Any
) -> None:
    Bag = _bag(limpyd_db, False)
    bag = Bag(plain=["x"])
    scores = {f"m{i}": float(i) for i in range(MANY)}
    with RoundTripCounter() as rt:
        assert bag.ranks.zadd(scores) == MANY
    assert rt.count == 1
    assert raw.zscore(bag.ranks.key, "m9000") == 9000.0
    # CH counts changed scores too; the flag stays in front of every call
    assert bag.ranks.zadd({f"m{i}": float(i + 1) for i in range(MANY)}, ch=True) == MANY
    assert bag.ranks.zrem(*scores) == MANY
    helpers.assert_index_consistent(raw, Bag, "ranks")

    items = [f"q{i % 50}" for i in range(MANY)]
    assert bag.queue.rpush(*items) == MANY  # the list length after the last call
    assert bag.queue.lpush(*items) == 2 * MANY
    assert raw.lrange(bag.queue.key, 0, 2) == ["q49", "q48", "q47"]  # pushed in order
    assert raw.lindex(bag.queue.key, -1) == items[-1]
    helpers.assert_index_consistent(raw, Bag, "queue")
    assert bag.plain.sadd(*[f"p{i}" for i in range(MANY)]) == MANY


def test_a_refused_big_write_changes_nothing(
    limpyd_db: RedisDatabase, raw: redis.Redis, helpers: Any
) -> None:
    Bag = _bag(limpyd_db, False)
    bag = Bag(tags=["a"])
    raw.delete(bag.ranks.key)
    raw.set(bag.ranks.key, "not a sorted set")  # the first call fails: nothing is written
    before = helpers.snapshot(raw)
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        bag.ranks.zadd({f"m{i}": float(i) for i in range(MANY)})
    assert helpers.snapshot(raw) == before


def test_a_refused_unique_member_write_puts_back_only_what_it_touched(
    limpyd_db: RedisDatabase, raw: redis.Redis, helpers: Any
) -> None:
    """SADD/ZADD read only the members they name; a unique refusal restores those members
    (scores included) and leaves the rest of a big key as it was."""

    class Badge(model.RedisModel):
        database = limpyd_db
        namespace = "big"
        codes = fields.SetField(unique=True)
        levels = fields.SortedSetField(unique=True)

    first = Badge(codes=["taken"], levels={"gold": 1.0})
    second = Badge(codes=[f"c{i}" for i in range(2000)], levels={"silver": 2.5, "bronze": 3})
    before = helpers.snapshot(raw)
    with pytest.raises(UniquenessError):
        second.codes.sadd("new", "c5", "taken")
    with pytest.raises(UniquenessError):
        second.levels.zadd({"silver": 9.0, "tin": 4.0, "gold": 5.0})
    with pytest.raises(UniquenessError):
        second.levels.zincrby("gold", 1)
    assert helpers.snapshot(raw) == before
    assert second.codes.sadd("new", "c5") == 1
    assert second.levels.zadd({"silver": 9.0, "tin": 4.0}) == 1
    assert list(Badge.collection(codes="new")) == list(Badge.collection(levels="tin"))
    assert list(Badge.collection(codes="taken")) == [first.get_pk()]
    assert raw.zscore(second.levels.key, "silver") == 9.0
    helpers.assert_index_consistent(raw, Badge, "codes")
    helpers.assert_index_consistent(raw, Badge, "levels")
