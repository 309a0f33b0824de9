"""redis-limpyd 2.x indexes: EqualIndex, TextRangeIndex, NumberRangeIndex, configured indexes,
range and ``__in`` filters, HashField entries; every write keeps them atomically."""

from __future__ import annotations

from typing import Any

import pytest

from limpyd import fields, model
from limpyd.database import DEFAULT_CONNECTION_SETTINGS, RedisDatabase
from limpyd.exceptions import ImplementationError, UniquenessError
from limpyd.indexes import EqualIndex, NumberRangeIndex, TextRangeIndex
from limpyd.utils import unique_key


def reverse(value: Any) -> Any:
    return value[::-1]


@pytest.fixture
def Boat(limpyd_db: RedisDatabase) -> Any:  # noqa: N802
    class Boat(model.RedisModel):
        database = limpyd_db
        namespace = "t"
        name = fields.StringField(indexable=True, indexes=[TextRangeIndex])
        length = fields.InstanceHashField(indexable=True, indexes=[NumberRangeIndex])
        code = fields.StringField(unique=True, indexes=[TextRangeIndex])
        nick = fields.StringField(
            indexable=True,
            indexes=[EqualIndex, EqualIndex.configure(prefix="rev", transform=reverse)],
        )
        tags = fields.SetField(indexable=True, indexes=[TextRangeIndex])

    return Boat


def test_default_connection_settings_and_unique_key(raw: Any) -> None:
    assert DEFAULT_CONNECTION_SETTINGS == {"host": "localhost", "port": 6379, "db": 0}
    assert RedisDatabase().connection_settings == DEFAULT_CONNECTION_SETTINGS
    key = unique_key(raw, "tests")
    assert key.startswith("tests:") and not raw.exists(key)
    assert unique_key(raw) != unique_key(raw)


def test_storage_keys_follow_redis_limpyd(Boat: Any) -> None:  # noqa: N803
    assert Boat.get_field("name").get_index().get_storage_key("x") == "t:boat:name:text-range"
    length = Boat.get_field("length").get_index()
    assert length.get_storage_key(3) == "t:boat:length:number-range"
    nick = Boat.get_field("nick")
    assert nick.get_index(prefix="rev").get_storage_key("abc") == "t:boat:nick:rev:cba"
    assert nick.get_index(index_class=EqualIndex, prefix=None).get_storage_key("abc") == (
        "t:boat:nick:abc"
    )
    with pytest.raises(ValueError, match="expected exactly one"):
        nick.get_index()
    with pytest.raises(ValueError, match="not indexable"):
        fields.StringField().get_index()
    with pytest.raises(ImplementationError, match="indexable"):
        fields.StringField(indexes=[EqualIndex])


def test_range_filters(Boat: Any, raw: Any) -> None:  # noqa: N803
    for name, length, code in [("abc", 10, "a"), ("abd", 12.5, "b"), ("b", 20, "c")]:
        Boat(name=name, length=length, code=code, nick=name)
    assert raw.zrange("t:boat:length:number-range", 0, -1, withscores=True) == [
        ("1", 10.0), ("2", 12.5), ("3", 20.0),
    ]  # fmt: skip
    assert set(Boat.collection(name__startswith="ab")) == {"1", "2"}
    assert set(Boat.collection(name__gt="abc")) == {"2", "3"}
    assert set(Boat.collection(name__gte="abc")) == {"1", "2", "3"}
    assert set(Boat.collection(name__lt="abd")) == {"1"}
    assert set(Boat.collection(name="b")) == {"3"}
    assert set(Boat.collection(length__gte=12.5)) == {"2", "3"}
    assert set(Boat.collection(length__lt=12.5)) == {"1"}
    assert set(Boat.collection(length__in=[10, 20])) == {"1", "3"}
    assert set(Boat.collection(length__in=[])) == set()
    assert set(Boat.collection(length__gt=10, name__startswith="ab")) == {"2"}
    assert set(Boat.collection(pk__in=["1", "3", "9"])) == {"1", "3"}
    # configured index: stored transformed, looked for as given
    assert set(Boat.collection(nick__rev="dba")) == {"2"}
    assert set(Boat.collection(nick="abd")) == {"2"}
    assert list(Boat.collection(length__gte=11).sort(by="-length").instances())[0].pk.get() == "3"


def test_writes_move_index_entries(Boat: Any, raw: Any) -> None:  # noqa: N803
    boat = Boat(name="abc", length=1, code="a", nick="x")
    boat.length.hincrbyfloat(2.5)
    assert set(Boat.collection(length=3.5)) == {"1"}
    boat.name.set("zz")
    assert raw.zrange("t:boat:name:text-range", 0, -1) == ["zz:TEXT-RANGE-SEPARATOR:1"]
    boat.tags.sadd("p", "q")
    boat.tags.srem("p")
    assert set(Boat.collection(tags="q")) == {"1"} and set(Boat.collection(tags="p")) == set()
    boat.nick.set("yo")
    assert raw.smembers("t:boat:nick:rev:oy") == {"1"} and not raw.exists("t:boat:nick:rev:x")
    boat.delete()
    assert sorted(raw.keys("t:boat:*")) == ["t:boat:max_pk"]


def test_unique_range_index_refuses_before_writing(Boat: Any, raw: Any, helpers: Any) -> None:  # noqa: N803
    Boat(name="a", code="same")
    other = Boat(name="b", code="other")
    before = helpers.snapshot(raw)
    with pytest.raises(UniquenessError):
        Boat(name="c", code="same")
    with pytest.raises(UniquenessError):
        other.code.set("same")
    assert helpers.snapshot(raw) == before
    other.code.set("other")  # its own value is not a conflict
    assert other.code.get() == "other"


def test_number_range_index_can_refuse_non_numbers(limpyd_db: RedisDatabase, raw: Any) -> None:
    class Gauge(model.RedisModel):
        database = limpyd_db
        value = fields.StringField(
            indexable=True, indexes=[NumberRangeIndex.configure(raise_if_not_float=True)]
        )
        loose = fields.StringField(indexable=True, indexes=[NumberRangeIndex])

    with pytest.raises(ValueError, match="expected a number"):
        Gauge(value="abc")
    assert raw.dbsize() == 0
    gauge = Gauge(value="1.5", loose="abc")
    assert set(Gauge.collection(loose=0)) == {gauge.pk.get()}


def test_hashfield(limpyd_db: RedisDatabase, raw: Any, helpers: Any) -> None:
    class Email(model.RedisModel):
        database = limpyd_db
        headers = fields.HashField(indexable=True)
        extra = fields.HashField()

    mail = Email(headers={"from": "a@x", "to": "b@x"})
    assert mail.headers.hgetall() == {"from": "a@x", "to": "b@x"}
    assert raw.smembers(":email:headers:from:a@x") == {"1"}
    assert set(Email.collection(headers__from="a@x")) == {"1"}
    mail.headers.hset("from", "c@x")
    assert set(Email.collection(headers__from="a@x")) == set()
    assert set(Email.collection(headers__from="c@x")) == {"1"}
    mail.headers.hmset({"subject": "hi"}, to="d@x")
    assert mail.headers.hmget("subject", "to", "nope") == ["hi", "d@x", None]
    assert mail.headers.hdel("subject", "nope") == 1
    assert sorted(mail.headers.hkeys()) == ["from", "to"]
    assert mail.headers.hlen() == 2 and mail.headers.hexists("to")
    assert mail.headers.hincrby("n", 3) == 3 and mail.headers.hstrlen("to") == 3
    assert set(Email.collection(headers__n=3)) == {"1"}
    mail.extra.hset("k", "v")
    assert mail.extra.hvals() == ["v"]
    with pytest.raises(ImplementationError, match="HashField"):
        Email.collection(headers="x")
    with pytest.raises(ImplementationError):
        fields.HashField(unique=True)
    mail.delete()
    assert helpers.snapshot(raw) == {":email:max_pk": "1"}


def test_multi_indexes_and_date_indexes(limpyd_db: RedisDatabase) -> None:
    from limpyd.contrib.indexes import DateTimeIndex, EqualIndexWith, MultiIndexes, TimeIndex

    first_letter = EqualIndex.configure(
        prefix="first", transform=lambda v: v[:1], handle_uniqueness=False
    )

    class Event(model.RedisModel):
        database = limpyd_db
        name = fields.StringField(
            unique=True, indexes=[MultiIndexes.compose([first_letter, EqualIndex])]
        )
        at = fields.StringField(indexable=True, indexes=[DateTimeIndex])
        hour = fields.StringField(indexable=True, indexes=[TimeIndex])

    Event(name="foo", at="2015-12-16 15:20:32", hour="08:30:00")
    Event(name="bar", at="2016-01-02 09:00:00", hour="18:00:00")
    assert set(Event.collection(name__first="f")) == {"1"}
    assert set(Event.collection(name="bar")) == {"2"}
    with pytest.raises(UniquenessError):
        Event(name="foo")
    with pytest.raises(ImplementationError):
        Event.collection(name__gte="a")
    assert set(Event.collection(at__date="2015-12-16")) == {"1"}
    assert set(Event.collection(at__year__gte=2016)) == {"2"}
    assert set(Event.collection(at__month=12, at__hour=15)) == {"1"}
    assert set(Event.collection(at__time__lt="10:00:00")) == {"2"}
    assert set(Event.collection(at__gt="2015-12-31")) == {"2"}
    assert set(Event.collection(hour__hour__lte=9)) == {"1"}

    with pytest.raises(ImplementationError, match="other_fields must name at least one field"):

        class Broken(model.RedisModel):
            database = limpyd_db
            value = fields.StringField(indexable=True, indexes=[EqualIndexWith.configure()])


def test_clear_and_rebuild_indexes(limpyd_db: RedisDatabase, raw: Any) -> None:
    class Item(model.RedisModel):
        database = limpyd_db
        name = fields.StringField(
            indexable=True,
            indexes=[EqualIndex, EqualIndex.configure(prefix="rev", transform=reverse)],
        )
        size = fields.InstanceHashField(indexable=True, indexes=[NumberRangeIndex])
        meta = fields.HashField(indexable=True)

    Item(name="ab", size=3, meta={"k": "v"})
    Item(name="cd", size=5)
    plain = Item.get_field("name").get_index(prefix=None)
    assert plain.get_all_storage_keys() == {":item:name:ab", ":item:name:cd"}
    assert Item.get_field("meta").get_index().get_all_storage_keys() == {":item:meta:k:v"}
    assert Item.get_field("size").get_index().get_all_storage_keys() == {":item:size:number-range"}
    before = {key: raw.type(key) for key in raw.keys()}
    Item.get_field("name").clear_indexes()
    assert (
        set(Item.collection(name="ab")) == set() and set(Item.collection(name__rev="dc")) == set()
    )
    Item.get_field("name").rebuild_indexes()
    Item.get_field("size").get_index().rebuild()
    Item.get_field("meta").rebuild_indexes()
    assert set(Item.collection(name__rev="dc")) == {"2"} and set(Item.collection(size__gt=4)) == {
        "2"
    }
    assert set(Item.collection(meta__k="v")) == {"1"}
    assert {key: raw.type(key) for key in raw.keys()} == before
    with pytest.raises(AssertionError):
        Item(1).name.clear_indexes()


def test_get_filtered_keys(Boat: Any, raw: Any) -> None:  # noqa: N803
    for name, length in [("b", 3), ("a", 1), ("c", 2)]:
        Boat(name=name, length=length, code=name)
    name_index = Boat.get_field("name").get_index()
    key, kind, is_tmp = name_index.get_filtered_keys("lte", "b")[0]
    assert (kind, is_tmp) == ("set", True) and raw.smembers(key) == {"1", "2"}
    key, kind, is_tmp = name_index.get_filtered_keys("lte", "b", accepted_key_types={"zset"})[0]
    assert kind == "zset" and raw.zrange(key, 0, -1, withscores=True) == [("2", 0.0), ("1", 1.0)]
    length_index = Boat.get_field("length").get_index()
    key, kind, _ = length_index.get_filtered_keys("gt", 1, accepted_key_types={"zset"})[0]
    assert raw.zrange(key, 0, -1) == ["3", "1"]
    key, kind, is_tmp = (
        Boat.get_field("nick").get_index(prefix=None).get_filtered_keys(None, "x")[0]
    )
    assert (key, kind, is_tmp) == ("t:boat:nick:x", "set", False)
    with pytest.raises(ImplementationError):
        name_index.get_filtered_keys("gt", "b", accepted_key_types={"list"})


def test_concurrent_unique_range_values_and_writes(limpyd_db: RedisDatabase, raw: Any) -> None:
    import threading

    class Code(model.RedisModel):
        database = limpyd_db
        code = fields.StringField(unique=True, indexes=[TextRangeIndex])
        hits = fields.StringField(indexable=True, indexes=[NumberRangeIndex])
        tags = fields.HashField(indexable=True)

    winners: list[str] = []

    def create() -> None:
        try:
            winners.append(Code(code="same", hits=0).pk.get())
        except UniquenessError:
            pass

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert raw.zcard(":code:code:text-range") == 1
    pk = winners[0]

    def bump(n: int) -> None:
        code = Code(pk)
        for i in range(20):
            code.hits.incr()
            code.tags.hset("t", f"{n}-{i}")

    threads = [threading.Thread(target=bump, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert raw.zrange(":code:hits:number-range", 0, -1, withscores=True) == [(pk, 80.0)]
    value = raw.hget(f":code:{pk}:tags", "t")
    assert [k for k in raw.keys(":code:tags:t:*")] == [f":code:tags:t:{value}"]
    assert set(Code.collection(hits__gte=80, tags__t=value)) == {pk}


def test_scored_equal_index(limpyd_db: RedisDatabase, raw: Any) -> None:
    from limpyd.contrib.collection import ExtendedCollectionManager
    from limpyd.contrib.indexes import ScoredEqualIndex

    class Job(model.RedisModel):
        database = limpyd_db
        collection_manager = ExtendedCollectionManager
        priority = fields.InstanceHashField()
        queue = fields.InstanceHashField(
            unique=True, indexes=[ScoredEqualIndex.configure(score_field="priority")]
        )
        tags = fields.SetField(
            indexable=True, indexes=[ScoredEqualIndex.configure(score_field="priority")]
        )

    index = Job.get_field("queue").get_index()
    assert index.get_storage_key("a") == ":job:queue:equal-scored:a"
    assert Job.get_field("priority").indexable  # linked: its writes move the scores
    one = Job(queue="a", priority=5, tags=["x"])
    two = Job(queue="b", tags=["x"])  # no score: not in the scored sets
    assert raw.zrange(":job:tags:equal-scored:x", 0, -1, withscores=True) == [("1", 5.0)]
    two.priority.hset(1)
    assert list(Job.collection(tags="x")) == ["2", "1"]  # ordered by score
    one.priority.hset(0)
    assert list(Job.collection(tags="x")) == ["1", "2"]
    with pytest.raises(UniquenessError):
        Job(queue="a")  # unique even without a score
    with pytest.raises(UniquenessError):
        two.hmset(priority=9, queue="a")
    assert two.priority.hget() == "1"
    one.priority.hdel()
    assert list(Job.collection(tags="x")) == ["2"] and list(Job.collection(queue="a")) == []
    two.delete()
    assert index.get_all_storage_keys() == set()
    for declaration in (
        {"score": fields.ListField()},
        {},
    ):
        with pytest.raises(ImplementationError):
            type(
                "Bad",
                (model.RedisModel,),
                {
                    "database": limpyd_db,
                    "collection_manager": ExtendedCollectionManager,
                    **declaration,
                    "name": fields.StringField(
                        indexable=True, indexes=[ScoredEqualIndex.configure(score_field="score")]
                    ),
                },
            )
    with pytest.raises(ImplementationError, match="ExtendedCollectionManager"):

        class Plain(model.RedisModel):
            database = limpyd_db
            score = fields.StringField()
            name = fields.StringField(
                indexable=True, indexes=[ScoredEqualIndex.configure(score_field="score")]
            )
