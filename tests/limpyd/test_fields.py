"""Field commands: results, index consistency after every modifier, unique refusals that
leave no trace, bad input rejected before writing, binary values, round trips."""

from __future__ import annotations

import pytest
from redis.exceptions import ResponseError

from limpyd import fields, model
from limpyd.database import RedisDatabase
from limpyd.exceptions import ImplementationError, UniquenessError
from limpyd.utils import to_bytes
from walrus.roundtrips import RoundTripCounter

# The command lists of the README, per field type (getters + modifiers, plus delete).
README_COMMANDS = {
    fields.StringField: {
        "get", "getbit", "getrange", "getset", "strlen", "append", "decr", "decrby", "incr",
        "incrby", "incrbyfloat", "set", "setbit", "setnx", "setrange",
    },
    fields.HashableField: {"hget", "hincrby", "hincrbyfloat", "hset", "hsetnx", "hdel"},
    fields.SetField: {"scard", "sismember", "smembers", "srandmember", "sadd", "spop", "srem"},
    fields.ListField: {
        "lindex", "llen", "lrange", "linsert", "lpop", "lpush", "lpushx", "lrem", "lset",
        "ltrim", "rpop", "rpush", "rpushx",
    },
    fields.SortedSetField: {
        "zcard", "zcount", "zrange", "zrangebyscore", "zrank", "zrevrange", "zrevrangebyscore",
        "zrevrank", "zscore", "zadd", "zincrby", "zrem", "zremrangebyrank", "zremrangebyscore",
    },
}  # fmt: skip


# Commands redis-limpyd 2.x added beside the README's (expiry of fields stored in their own
# key, SET options, scans, SORT, lex ranges, pops, list helpers).
TTL = {"expire", "expireat", "persist", "pexpire", "pexpireat", "pttl", "ttl"}
LIMPYD2_COMMANDS = {
    fields.StringField: TTL | {"psetex", "setex"},
    fields.HashableField: {"hexists"},
    fields.SetField: TTL | {"sort", "sscan"},
    fields.ListField: TTL | {"lcontains", "lcount", "lmembers", "lrank", "sort"},
    fields.SortedSetField: TTL | {
        "sort", "zlexcount", "zmembers", "zpopmax", "zpopmin", "zrangebylex", "zremrangebylex",
        "zrevrangebylex", "zscan",
    },
}  # fmt: skip

# Public methods of every field that are not Redis commands.
FIELD_HELPERS = {
    "clear_indexes", "exists", "get_default_indexes", "get_index", "index_key", "proxy_get",
    "proxy_set", "rebuild_indexes",
}  # fmt: skip


@pytest.mark.parametrize("cls", list(README_COMMANDS), ids=lambda c: c.__name__)
def test_each_field_exposes_exactly_the_readme_commands(cls: type[fields.RedisField]) -> None:
    declared = set(cls.available_getters) | set(cls.available_modifiers)
    assert declared - {"delete"} == README_COMMANDS[cls] | LIMPYD2_COMMANDS[cls]
    for name in declared:
        assert callable(getattr(cls, name))
    # No other public method: a Redis command added to a field class but missing from the
    # lists above would show up here (the rest are limpyd's own field helpers).
    public = {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}
    assert public - declared == FIELD_HELPERS


def test_names_of_readme_and_limpyd_2(limpyd_db: RedisDatabase) -> None:
    assert fields.HashableField is fields.InstanceHashField
    assert model.HashableField is fields.InstanceHashField
    assert model.RedisDatabase is RedisDatabase


def make_string_model(db: RedisDatabase, **options):
    class Thing(model.RedisModel):
        database = db
        value = fields.StringField(**options)

    return Thing


@pytest.mark.parametrize("indexable", [False, True])
def test_string_commands(limpyd_db: RedisDatabase, raw, helpers, indexable: bool) -> None:
    Thing = make_string_model(limpyd_db, indexable=indexable)
    thing = Thing(value="abc")
    other = Thing(value="abc")
    f = thing.value
    assert f.get() == "abc" and f.strlen() == 3 and f.getrange(1, 2) == "bc"
    assert f.append("de") == 5 and f.get() == "abcde"
    assert f.getset("10") == "abcde"
    assert f.incr() == 11 and f.incr(5) == 16 and f.incrby(4) == 20
    assert f.decr() == 19 and f.decr(9) == 10 and f.decrby(5) == 5
    assert f.incrbyfloat(0.5) == 5.5 and f.get() == "5.5"
    assert f.set("x") is True and f.setnx("y") is False and f.get() == "x"
    assert f.setrange(1, "yz") == 3 and f.get() == "xyz"
    assert f.getbit(0) == 0 and f.setbit(0, 1) == 0 and f.getbit(0) == 1
    assert f.get() == "\xf8yz".encode("latin-1").decode("utf-8", "surrogateescape")
    assert f.delete() == 1 and f.get() is None
    assert f.setnx("again") is True
    assert other.value.get() == "abc"
    if indexable:
        helpers.assert_index_consistent(raw, Thing, "value")
        assert helpers.index_state(raw, Thing, "value") == {"again": {"1"}, "abc": {"2"}}


def test_unique_string_refusals_change_nothing(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Thing = make_string_model(limpyd_db, unique=True)
    a = Thing(value="1")
    b = Thing(value="2")
    before = helpers.snapshot(raw)
    with pytest.raises(
        UniquenessError, match=r"Key :thing:value:1 already exists \(for instance 1\)"
    ):
        b.value.set("1")
    with pytest.raises(UniquenessError):
        b.value.decr()  # 2 - 1 == 1 is taken: undone
    with pytest.raises(UniquenessError):
        b.value.getset(1)
    with pytest.raises(UniquenessError):
        a.value.incr()  # 1 + 1 == 2
    assert helpers.snapshot(raw) == before
    assert b.value.set("2") is True  # its own value is not a conflict
    assert b.value.incr() == 3
    helpers.assert_index_consistent(raw, Thing, "value")


def test_hash_commands_indexed(limpyd_db: RedisDatabase, raw, helpers) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        name = fields.InstanceHashField(indexable=True)
        other = fields.HashableField()

    thing = Thing(name="a", other="o")
    f = thing.name
    assert f.hget() == "a"
    assert f.hset("5") == 0 and f.hincrby(2) == 7 and f.hincrbyfloat(0.5) == 7.5
    assert f.hsetnx("x") == 0 and f.hget() == "7.5"
    helpers.assert_index_consistent(raw, Thing, "name")
    assert f.hdel() == 1 and f.hsetnx("x") == 1
    assert f.delete() == 1 and f.hget() is None
    assert thing.other.hget() == "o"
    assert raw.hgetall(":thing:1:hash") == {"other": "o"}
    helpers.assert_index_consistent(raw, Thing, "name")
    assert helpers.index_state(raw, Thing, "name") == {}


def test_unique_hash_fields_and_hmset(limpyd_db: RedisDatabase, raw, helpers) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        name = fields.HashableField(unique=True)
        color = fields.HashableField(indexable=True)
        size = fields.HashableField()

    a = Thing(name="a", color="red")
    b = Thing(name="b", color="blue")
    before = helpers.snapshot(raw)
    with pytest.raises(UniquenessError, match=":thing:name:a"):
        b.hmset(name="a", color="green", size="9")
    with pytest.raises(UniquenessError):
        b.name.hset("a")
    assert helpers.snapshot(raw) == before
    assert b.hmset(name="c", color="red", size="9") is True
    assert b.hmget() == ["c", "red", "9"]
    assert a.hmget("color", "name") == ["red", "a"]
    for name in ("name", "color"):
        helpers.assert_index_consistent(raw, Thing, name)
    assert list(Thing.collection(color="red")) == ["1", "2"]
    with pytest.raises(ValueError, match="size"):
        Thing.collection(size="9")
    with pytest.raises(ValueError, match="not a HashableField"):
        b.hmget("pk")
    with pytest.raises(ValueError, match="at least one"):
        b.hmset()


def make_multi(db: RedisDatabase, cls: type, **options):
    class Thing(model.RedisModel):
        database = db
        stuff = cls(**options)

    return Thing


def test_set_commands_indexed(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Thing = make_multi(limpyd_db, fields.SetField, indexable=True)
    thing = Thing(stuff=["a", "b"])
    Thing(stuff={"b", "c"})
    f = thing.stuff
    assert f.scard() == 2 and f.smembers() == {"a", "b"} and f.sismember("a") is True
    assert f.srandmember() in {"a", "b"} and sorted(f.srandmember(5)) == ["a", "b"]
    assert f.sadd("c", "d") == 2
    helpers.assert_index_consistent(raw, Thing, "stuff")
    popped = f.spop()
    assert popped in {"a", "b", "c", "d"}
    assert len(f.spop(2)) == 2 and f.scard() == 1
    helpers.assert_index_consistent(raw, Thing, "stuff")
    assert f.srem(*f.smembers()) == 1 and f.smembers() == set()
    f.sadd("z")
    assert f.delete() == 1
    helpers.assert_index_consistent(raw, Thing, "stuff")
    assert list(Thing.collection(stuff="c")) == ["2"]


def test_unique_set_refusal_restores(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Thing = make_multi(limpyd_db, fields.SetField, unique=True)
    Thing(stuff=["a"])
    b = Thing(stuff=["b", "c"])
    before = helpers.snapshot(raw)
    with pytest.raises(UniquenessError, match=":thing:stuff:a"):
        b.stuff.sadd("x", "a")
    assert helpers.snapshot(raw) == before
    with pytest.raises(UniquenessError):
        Thing(stuff=["q", "a"])
    assert helpers.snapshot(raw) == before


def test_list_commands_indexed(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Thing = make_multi(limpyd_db, fields.ListField, indexable=True)
    thing = Thing(stuff=["a", "b", "a"])
    f = thing.stuff
    assert f.llen() == 3 and f.lrange(0, -1) == ["a", "b", "a"] and f.lindex(2) == "a"
    assert f.lrem(1, "a") == 1
    helpers.assert_index_consistent(raw, Thing, "stuff")  # 'a' is still held once
    assert helpers.index_state(raw, Thing, "stuff") == {"a": {"1"}, "b": {"1"}}
    assert f.lpush("x") == 3 and f.rpush("y", "z") == 5
    assert f.lpushx("w") == 6 and f.rpushx("v") == 7
    assert f.lrange(0, -1) == ["w", "x", "b", "a", "y", "z", "v"]
    assert f.linsert("before", "b", "i") == 8 and f.linsert("AFTER", "nope", "j") == -1
    assert f.lset(0, "s") is True
    assert f.lpop() == "s" and f.rpop() == "v" and f.lpop(2) == ["x", "i"]
    assert f.rpop(1) == ["z"]
    helpers.assert_index_consistent(raw, Thing, "stuff")
    assert f.ltrim(0, 0) is True and f.lrange(0, -1) == ["b"]
    helpers.assert_index_consistent(raw, Thing, "stuff")
    assert f.delete() == 1 and f.lpushx("q") == 0 and f.llen() == 0
    assert helpers.index_state(raw, Thing, "stuff") == {}
    with pytest.raises(ValueError, match="before"):
        f.linsert("middle", "a", "b")


def test_sorted_set_commands_indexed(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Thing = make_multi(limpyd_db, fields.SortedSetField, indexable=True)
    thing = Thing(stuff={"a": 1, "b": 2})
    f = thing.stuff
    assert f.zadd({"c": 3}) == 1 and f.zadd(4, "d", 5, "e") == 2 and f.zadd(f=6) == 1
    assert f.zcard() == 6 and f.zcount(2, 4) == 3
    assert f.zrange(0, 1) == ["a", "b"] and f.zrange(0, 0, desc=True) == ["f"]
    assert f.zrange(0, 0, withscores=True) == [("a", 1.0)]
    assert f.zrevrange(0, 1, withscores=True) == [("f", 6.0), ("e", 5.0)]
    assert f.zrangebyscore(2, 3) == ["b", "c"] and f.zrangebyscore("-inf", "+inf", 1, 1) == ["b"]
    assert f.zrevrangebyscore(3, 2, withscores=True) == [("c", 3.0), ("b", 2.0)]
    assert f.zrank("c") == 2 and f.zrevrank("c") == 3 and f.zscore("c") == 3.0
    assert f.zrank("nope") is None and f.zscore("nope") is None
    assert f.zincrby("a", 10) == 11.0 and f.zincrby("new", 0.5) == 0.5
    helpers.assert_index_consistent(raw, Thing, "stuff")
    assert f.zrem("b", "nope") == 1
    assert f.zremrangebyrank(0, 0) == 1  # 'new'
    assert f.zremrangebyscore(3, 4) == 2
    assert f.zrange(0, -1) == ["e", "f", "a"]
    helpers.assert_index_consistent(raw, Thing, "stuff")
    assert f.delete() == 1 and helpers.index_state(raw, Thing, "stuff") == {}
    with pytest.raises(TypeError, match="pairs"):
        f.zadd(1, "a", 2)
    with pytest.raises(TypeError, match="score"):
        f.zadd(a="high")
    with pytest.raises(TypeError, match="at least one"):
        f.zadd()


def test_bad_input_is_refused_before_writing(limpyd_db: RedisDatabase, raw, helpers) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        s = fields.StringField(indexable=True)
        h = fields.HashableField()
        st = fields.SetField()

    thing = Thing(s="a", h="b", st=["c"])
    before = helpers.snapshot(raw)
    for call, message in [
        (lambda: thing.s.set(None), "Thing.s"),
        (lambda: thing.s.set(True), "Thing.s"),
        (lambda: thing.s.set(object()), "object"),
        (lambda: thing.s.incr("one"), "incr amount"),  # numeric text ("1") is accepted
        (lambda: thing.s.incr("1.5"), "incr amount"),
        (lambda: thing.s.incr(1.5), "incr amount"),
        (lambda: thing.s.incrbyfloat("x"), "incrbyfloat"),
        (lambda: thing.s.setbit(0, 2), "setbit"),
        (lambda: thing.h.hset([1]), "Thing.h"),
        (lambda: thing.st.sadd(), "at least one"),
        (lambda: thing.st.sadd("ok", None), "Thing.st"),
        (lambda: Thing(s=None), "Thing.s"),
        (lambda: Thing(nope=1), "nope"),
    ]:
        with pytest.raises((TypeError, ValueError), match=message):
            call()
    assert helpers.snapshot(raw) == before
    with pytest.raises(ResponseError):
        thing.s.incr()  # "a" is not an integer: Redis refuses, nothing changes
    with pytest.raises(ResponseError):
        thing.h.hincrby()
    assert helpers.snapshot(raw) == before
    with pytest.raises(AttributeError, match="Redis field"):
        thing.s = "x"


def test_getters_of_an_unsaved_instance_cost_nothing(limpyd_db: RedisDatabase, raw) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        s = fields.StringField()
        h = fields.HashableField()
        st = fields.SetField()
        li = fields.ListField()
        z = fields.SortedSetField()

    thing = Thing()
    with RoundTripCounter() as rt:
        assert thing.s.get() is None and thing.s.strlen() == 0 and thing.h.hget() is None
        assert thing.st.smembers() == set() and thing.st.srandmember(2) == []
        assert thing.li.lrange(0, -1) == [] and thing.z.zrange(0, -1) == []
        assert thing.hmget("h") == [None]
    assert rt.count == 0
    assert raw.keys() == []


def test_first_write_creates_and_refused_first_write_leaves_nothing(
    limpyd_db: RedisDatabase, raw, helpers
) -> None:
    Thing = make_string_model(limpyd_db, unique=True)
    Thing(value="taken")
    before = helpers.snapshot(raw)
    fresh = Thing()
    with pytest.raises(UniquenessError):
        fresh.value.set("taken")
    assert fresh._pk is None
    assert helpers.snapshot(raw) == before  # no pk, no counter move, no value
    with RoundTripCounter() as rt:
        assert fresh.value.set("mine") is True
    assert rt.count == 1
    assert fresh.get_pk() == "2" and raw.get(":thing:max_pk") == "2"
    helpers.assert_index_consistent(raw, Thing, "value")


def test_binary_values_round_trip(limpyd_db: RedisDatabase, raw) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        blob = fields.StringField(indexable=True)
        hblob = fields.HashableField()
        items = fields.SetField(indexable=True)

    payload = b"\xff\x00\xfe binary \x80"
    thing = Thing(blob=payload, hblob=payload, items=[payload, b"\x01"])
    assert to_bytes(thing.blob.get()) == payload
    assert to_bytes(thing.hblob.hget()) == payload
    assert {to_bytes(v) for v in thing.items.smembers()} == {payload, b"\x01"}
    assert list(Thing.collection(blob=payload)) == ["1"]
    assert list(Thing.collection(items=payload)) == ["1"]
    index_key = b":thing:blob:" + payload
    assert (
        raw.connection_pool.get_encoder().encode(raw.scan_iter(match=":thing:blob:*").__next__())
        == index_key
    )
    assert thing.blob.set("text é") is True and thing.blob.get() == "text é"
    assert list(Thing.collection(blob=payload)) == []


def test_round_trips_of_writes(limpyd_db: RedisDatabase) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        plain = fields.StringField()
        indexed = fields.StringField(indexable=True)
        tags = fields.SetField(indexable=True)
        label = fields.InstanceHashField(indexable=True)

    with RoundTripCounter() as rt:
        thing = Thing(plain="a", indexed="b", tags=["x"], label="p")
    assert rt.count == 1  # the whole creation is one script
    with RoundTripCounter() as rt:
        thing.plain.set("c")
    assert rt.count == 1
    with RoundTripCounter() as rt:
        thing.tags.sadd("y")
    assert rt.count == 1
    with RoundTripCounter() as rt:
        thing.tags.srem("x")
    assert rt.count == 1
    with RoundTripCounter() as rt:
        thing.indexed.set("5")  # the old value is read by the script, not by the client
    assert rt.count == 1
    with RoundTripCounter() as rt:
        thing.indexed.incr()  # the new value is computed by Redis: the script indexes it
    assert rt.count == 1
    assert list(Thing.collection(indexed="6")) == [thing.get_pk()]
    assert list(Thing.collection(indexed="5")) == list(Thing.collection(indexed="b")) == []
    fresh = Thing(thing.get_pk())  # no value known locally
    with RoundTripCounter() as rt:
        popped = fresh.tags.spop()
    assert rt.count == 1
    assert list(Thing.collection(tags=popped)) == []
    fresh = Thing(thing.get_pk())
    with RoundTripCounter() as rt:
        fresh.hmset(label="q")  # the old "p" is read by the script
    assert rt.count == 1
    assert list(Thing.collection(label="q")) == [thing.get_pk()]
    assert list(Thing.collection(label="p")) == []
    fresh = Thing(thing.get_pk())
    with RoundTripCounter() as rt:
        fresh.delete()  # every index entry is found by the script
    assert rt.count == 1
    assert list(Thing.collection(indexed="6")) == list(Thing.collection(label="q")) == []


def test_default_and_unique_together_is_refused() -> None:
    with pytest.raises(ImplementationError, match="default"):
        fields.StringField(default="x", unique=True)
    with pytest.raises(TypeError):
        fields.StringField(defaut=0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        fields.StringField(default=None)
    with pytest.raises(ImplementationError, match="PKField"):
        fields.PKField(default="x")


def test_writes_of_fields_without_index(limpyd_db: RedisDatabase, raw, helpers) -> None:
    """A field without index of a saved instance takes the lean write script: one round trip,
    the command's own reply, nothing written under a deleted pk or on a command error."""
    from limpyd.exceptions import DoesNotExist

    class Memo(model.RedisModel):
        database = limpyd_db
        body = fields.StringField()
        size = fields.InstanceHashField()
        marks = fields.ListField()

    memo = Memo(body="a", size="1")
    with RoundTripCounter() as rt:
        assert memo.size.hset("2") == 0  # HSET's reply: the hash field existed
        assert memo.body.append("b") == 2
        assert memo.marks.rpush("x", "y") == 2
    assert rt.count == 3
    assert raw.hget(Memo._hash_key(memo.get_pk()), "size") == "2"
    assert raw.get(memo.body.key) == "ab" and raw.lrange(memo.marks.key, 0, -1) == ["x", "y"]
    raw.delete(memo.marks.key)
    raw.set(memo.marks.key, "text")
    before = helpers.snapshot(raw)
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        memo.marks.rpush("z")
    assert helpers.snapshot(raw) == before
    stale = Memo.lazy_connect(memo.get_pk())
    Memo(memo.get_pk()).delete()
    after_delete = helpers.snapshot(raw)
    with pytest.raises(DoesNotExist):
        stale.size.hset("3")
    with pytest.raises(DoesNotExist):
        stale.body.set("c")
    assert helpers.snapshot(raw) == after_delete
    assert not [key for key in after_delete if key.startswith(":memo:1:")]
