"""redis-limpyd 2.x field commands: expiry, SET options, numeric text, zadd forms, scans,
SORT, lex ranges, pops, list helpers, instance-hash helpers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from redis.exceptions import DataError, ResponseError

from limpyd import fields, model
from limpyd.database import RedisDatabase
from limpyd.exceptions import ImplementationError, LimpydException


@pytest.fixture
def Thing(limpyd_db: RedisDatabase) -> Any:  # noqa: N802
    class Thing(model.RedisModel):
        database = limpyd_db
        name = fields.StringField(indexable=True)
        color = fields.StringField()
        tags = fields.SetField()
        items = fields.ListField()
        scores = fields.SortedSetField(indexable=True)
        a = fields.InstanceHashField(indexable=True)
        b = fields.InstanceHashField()

    return Thing


def test_expiry_commands(Thing: Any, raw: Any, helpers: Any) -> None:  # noqa: N803
    thing = Thing(name="x", color="red", tags=["t"])
    assert thing.color.ttl() == -1
    assert thing.color.expire(100) and 0 < thing.color.ttl() <= 100
    assert thing.color.persist() and thing.color.pttl() == -1
    assert thing.color.pexpire(100000) and 0 < thing.color.pttl() <= 100000
    at = datetime.datetime.now() + datetime.timedelta(seconds=50)
    assert thing.tags.expireat(at) and 0 < thing.tags.ttl() <= 50
    assert thing.tags.pexpireat(int(at.timestamp() * 1000)) and thing.tags.pttl() > 0
    assert thing.color.set("blue", ex=30) and 0 < raw.ttl(":thing:1:color") <= 30
    assert thing.color.set("green", px=30000) and raw.pttl(":thing:1:color") > 0
    assert thing.color.setex(20, "x") and 0 < thing.color.ttl() <= 20
    assert thing.color.psetex(20000, "y") and thing.color.get() == "y"
    assert thing.color.set("z", nx=True) is None and thing.color.get() == "y"
    assert thing.color.set("z", xx=True) and thing.color.get() == "z"
    assert thing.color.exists() and not thing.b.exists() and not thing.b.hexists()
    before = helpers.snapshot(raw)
    for call in (
        lambda: thing.name.expire(3),
        lambda: thing.name.pexpire(3),
        lambda: thing.name.expireat(at),
        lambda: thing.name.set("y", ex=3),
        lambda: thing.name.setex(3, "y"),
        lambda: thing.name.psetex(3, "y"),
        lambda: thing.scores.expire(3),
    ):
        with pytest.raises(ImplementationError, match="indexable"):
            call()
    assert helpers.snapshot(raw) == before
    assert not hasattr(thing.a, "expire")  # the instance hash is shared: no per-field expiry


def test_numeric_text_arguments(Thing: Any) -> None:  # noqa: N803
    thing = Thing(color="1")
    assert thing.color.incr("2") == 3
    assert thing.color.incrbyfloat("3.5") == 6.5
    thing.b.hset(1)
    assert thing.b.hincrby("4") == 5
    assert thing.scores.zadd({"m": "1.5"}) == 1 and thing.scores.zscore("m") == 1.5
    with pytest.raises(TypeError, match="incrbyfloat"):
        thing.color.incrbyfloat("nan")


def test_zadd_forms_and_zincrby_orders(Thing: Any) -> None:  # noqa: N803
    thing = Thing()
    assert thing.scores.zadd({"foo": 1}) == 1
    assert thing.scores.zadd({"foo": 2, "bar": 3}, True) == 2  # ch: changed + added
    assert thing.scores.zadd(mapping={"foo": 4}, ch=True) == 1
    assert thing.scores.zadd(baz=5, ch=True) == 1
    assert thing.scores.zadd(6, "qux") == 1
    for call in (
        lambda: thing.scores.zadd({"a": 1}, True, False),
        lambda: thing.scores.zadd({"a": 1}, True, ch=True),
        lambda: thing.scores.zadd({"a": 1}, nx=True),
        lambda: thing.scores.zadd({"a": 1}, mapping={"b": 1}),
    ):
        with pytest.raises(LimpydException):
            call()
    with pytest.raises(TypeError):
        thing.scores.zadd(mapping={"a": 1}, b=2)
    assert thing.scores.zincrby(1.5, "foo") == 5.5  # redis-limpyd 2.x order
    assert thing.scores.zincrby("foo", 0.5) == 6.0  # the README's order
    assert set(Thing.collection(scores="foo")) == {thing.pk.get()}


def test_scans_sort_lex_and_pops(Thing: Any) -> None:  # noqa: N803
    thing = Thing(tags=["foo", "bar", "baz"], items=["b", "a", "b"])
    assert sorted(thing.tags.sscan(match="ba*")) == ["bar", "baz"]
    assert thing.tags.sort(alpha=True, desc=True, start=0, num=2) == ["foo", "baz"]
    assert thing.items.sort(alpha=True) == ["a", "b", "b"]
    assert thing.items.lrank("b") == 0 and thing.items.lrank("z") is None
    assert thing.items.lcount("b") == 2 and thing.items.lcontains("a")
    assert thing.items.lmembers() == ["b", "a", "b"]
    thing.scores.zadd({"a": 0, "b": 0, "c": 0, "d": 1})
    assert dict(thing.scores.zscan(match="[ab]")) == {"a": 0.0, "b": 0.0}
    assert thing.scores.zrangebylex("[a", "(c") == ["a", "b"]
    assert thing.scores.zrevrangebylex("+", "[c") == ["d", "c"]
    assert thing.scores.zlexcount("-", "+") == 4
    assert thing.scores.zpopmax() == [("d", 1.0)]
    assert thing.scores.zpopmin(2) == [("a", 0.0), ("b", 0.0)]
    assert thing.scores.zremrangebylex("-", "+") == 1
    assert thing.scores.zmembers() == []
    assert set(Thing.collection(scores="a")) == set()


def test_instance_hash_helpers(Thing: Any) -> None:  # noqa: N803
    thing = Thing(a="x", b="y")
    assert thing.hgetall() == {"a": "x", "b": "y"}
    assert thing.hkeys() == ["a", "b"] and thing.hvals() == ["x", "y"] and thing.hlen() == 2
    assert thing.hdel("a", "b") == 2
    assert thing.hgetall() == {} and set(Thing.collection(a="x")) == set()
    with pytest.raises(ResponseError):
        thing.hdel()
    with pytest.raises(DataError):
        thing.hmset()
    with pytest.raises(ValueError):  # also a ValueError, as older limpyd raised
        thing.hmset()
