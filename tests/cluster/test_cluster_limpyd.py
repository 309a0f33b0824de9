"""limpyd on a real 3-primary Redis Cluster: every key of a model shares one hash tag,
collections are evaluated by a script (the cluster refuses SORT's BY/GET patterns), related
models work with or without a shared tag, pipelines and transactions stay in one slot."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from redis.exceptions import CrossSlotTransactionError

from limpyd import fields, model
from limpyd.contrib import related
from limpyd.contrib.database import LimpydClusterPipeline, PipelineDatabase
from limpyd.database import RedisDatabase
from limpyd.exceptions import DoesNotExist, ImplementationError, UniquenessError
from walrus.cluster import CrossSlotError, key_slot
from walrus.database import ClusterDatabase
from walrus.roundtrips import RoundTripCounter

pytestmark = pytest.mark.cluster


def keys_of(db: ClusterDatabase) -> set[str]:
    return {key.decode("utf-8", "surrogateescape") for key in db.scan_iter()}


def snapshot(db: ClusterDatabase) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in db.scan_iter():
        kind = db.type(key)
        if kind == b"string":
            data[key] = db.get(key)
        elif kind == b"hash":
            data[key] = db.hgetall(key)
        elif kind == b"set":
            data[key] = db.smembers(key)
        elif kind == b"list":
            data[key] = db.lrange(key, 0, -1)
        else:
            data[key] = db.zrange(key, 0, -1, withscores=True)
    return data


def make_bike(database: RedisDatabase, **attrs: Any) -> type[model.RedisModel]:
    body = {
        "database": database,
        "name": fields.InstanceHashField(unique=True),
        "color": fields.InstanceHashField(indexable=True),
        "wheels": fields.StringField(default=2, indexable=True),
        "price": fields.InstanceHashField(),
        "size": fields.StringField(),
        "tags": fields.SetField(indexable=True),
        "parts": fields.ListField(),
        "scores": fields.SortedSetField(),
        **attrs,
    }
    return type("Bike", (model.RedisModel,), body)


@pytest.fixture
def single_db(redis_server: Any) -> Iterator[RedisDatabase]:
    """A limpyd database on one server (a flushed logical DB), to compare layouts and orders."""
    database = RedisDatabase(host=redis_server.host, port=redis_server.port, db=12)
    database.connection.flushdb()
    yield database
    database.connection.flushdb()
    database.close()


# -- connecting -----------------------------------------------------------------------------


def test_cluster_database_construction(redis_cluster: Any, cluster_db: ClusterDatabase) -> None:
    nodes = [(redis_cluster.host, port) for port in redis_cluster.ports]
    by_nodes = RedisDatabase(cluster_nodes=nodes)
    by_url = RedisDatabase.from_url(redis_cluster.url())
    plain = RedisDatabase.from_url("redis://127.0.0.1:1/3")
    try:
        assert by_nodes.is_cluster and by_url.is_cluster and not plain.is_cluster
        assert plain.connection_settings["db"] == 3
        assert isinstance(by_nodes.direct_connection, ClusterDatabase)
        assert isinstance(by_url.connection, ClusterDatabase)
        by_url.connection.set("k", "v")
        assert by_nodes.connection.get("k") == "v"  # decoded to str, as on one server
    finally:
        by_nodes.close()
        by_url.close()
    for bad in ([], "127.0.0.1:7000", [("h",)], [("h", "7000")], [("h", True)]):
        with pytest.raises(ValueError, match="cluster"):
            RedisDatabase(cluster_nodes=bad)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisDatabase(cluster_nodes=nodes, decode_responses=False)
    with pytest.raises(ValueError, match="scheme"):
        RedisDatabase.from_url("http://x:1")


def test_binary_values_round_trip(limpyd_cluster: PipelineDatabase, cluster_db: Any) -> None:
    Bike = make_bike(limpyd_cluster)
    raw = bytes(range(256))
    bike = Bike(name=raw)
    assert bike.name.hget().encode("utf-8", "surrogateescape") == raw
    assert cluster_db.hget(f"{{:bike}}:{bike.pk.get()}:hash", "name") == raw


# -- layout ---------------------------------------------------------------------------------


def test_every_key_of_a_model_shares_one_tag(
    limpyd_cluster: PipelineDatabase, cluster_db: ClusterDatabase
) -> None:
    Bike = make_bike(limpyd_cluster)
    bike = Bike(name="mountain", color="red", tags=["a", "b"], parts=["x"], scores={"s": 1})
    Bike(name="city", color="blue")
    assert bike.pk.get() == "1"
    keys = keys_of(cluster_db)
    assert {
        "{:bike}:collection",
        "{:bike}:max_pk",
        "{:bike}:1:hash",
        "{:bike}:1:wheels",
        "{:bike}:1:tags",
        "{:bike}:1:parts",
        "{:bike}:1:scores",
        "{:bike}:name:mountain",
        "{:bike}:color:red",
        "{:bike}:wheels:2",
        "{:bike}:tags:a",
    } <= keys
    assert all(key.startswith("{:bike}:") for key in keys)
    assert {key_slot(key) for key in keys} == {key_slot("{:bike}")}
    assert Bike.get_field("color").index_key("red") == "{:bike}:color:red"


def test_cluster_tag_override_and_namespace(
    limpyd_cluster: PipelineDatabase, cluster_db: ClusterDatabase
) -> None:
    class Car(model.RedisModel):
        database = limpyd_cluster
        namespace = "shop"
        cluster_tag = "store"
        name = fields.StringField(indexable=True)

    class Truck(model.RedisModel):
        database = limpyd_cluster
        namespace = "shop"
        name = fields.StringField()

    Car(name="a")
    Truck(name="b")
    keys = keys_of(cluster_db)
    assert "{store}shop:car:1:name" in keys and "{store}shop:car:name:a" in keys
    assert "{shop:truck}:1:name" in keys
    for bad in ("", "a{b", "x}", 3):
        with pytest.raises(ImplementationError, match="cluster_tag"):
            type("Bad", (model.RedisModel,), {"database": limpyd_cluster, "cluster_tag": bad})


def test_cluster_tag_changes_nothing_on_one_server(single_db: RedisDatabase) -> None:
    class Car(model.RedisModel):
        database = single_db
        cluster_tag = "store"
        name = fields.StringField(indexable=True)

    Car(name="a")
    keys = set(single_db.connection.keys())
    assert keys == {":car:collection", ":car:max_pk", ":car:1:name", ":car:name:a"}


# -- instances and fields -------------------------------------------------------------------


def test_create_load_and_field_commands(limpyd_cluster: PipelineDatabase) -> None:
    Bike = make_bike(limpyd_cluster)
    bike = Bike(name="mountain", color="red")
    with RoundTripCounter() as rt:
        Bike(name="road")
    assert rt.count == 1
    loaded = Bike(bike.pk.get())
    assert loaded.name.hget() == "mountain" and loaded.wheels.get() == "2"
    assert loaded.wheels.incr() == 3
    assert loaded.color.hset("green") == 0
    assert loaded.hmget("name", "color") == ["mountain", "green"]
    assert loaded.hmset(color="black", price="10") is True
    assert loaded.tags.sadd("x", "y") == 2 and loaded.tags.smembers() == {"x", "y"}
    assert loaded.parts.rpush("a", "b") == 2 and loaded.parts.lrange(0, -1) == ["a", "b"]
    assert loaded.scores.zadd({"m": 2}) == 1 and loaded.scores.zrange(0, -1) == ["m"]
    assert list(Bike.collection(color="black")) == [bike.pk.get()]
    with pytest.raises(DoesNotExist):
        Bike(99)
    loaded.delete()
    assert list(Bike.collection()) == ["2"]
    assert list(Bike.collection(color="black")) == []


def test_unique_refusal_leaves_nothing_behind(
    limpyd_cluster: PipelineDatabase, cluster_db: ClusterDatabase
) -> None:
    Bike = make_bike(limpyd_cluster)
    first = Bike(name="mountain", color="red")
    other = Bike(name="road")
    before = snapshot(cluster_db)
    with pytest.raises(UniquenessError):
        Bike(name="mountain", color="blue", tags=["t"])
    with pytest.raises(UniquenessError):
        other.name.hset("mountain")
    with pytest.raises(UniquenessError):
        other.hmset(name="mountain", color="green")
    assert snapshot(cluster_db) == before
    assert first.name.hget() == "mountain"


def test_unique_race_eight_threads(limpyd_cluster: PipelineDatabase, cluster_db: Any) -> None:
    Bike = make_bike(limpyd_cluster)
    barrier = threading.Barrier(8)
    won: list[str] = []
    lost: list[Exception] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            bike = Bike(name="only", color=f"c{i}")
        except UniquenessError as exc:
            with lock:
                lost.append(exc)
        else:
            with lock:
                won.append(bike.pk.get())

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 7
    assert cluster_db.smembers("{:bike}:collection") == {won[0].encode()}
    assert cluster_db.smembers("{:bike}:name:only") == {won[0].encode()}
    colors = [k for k in keys_of(cluster_db) if k.startswith("{:bike}:color:")]
    assert len(colors) == 1


# -- collections ----------------------------------------------------------------------------


def test_collections_filter_sort_slice_instances(limpyd_cluster: PipelineDatabase) -> None:
    Bike = make_bike(limpyd_cluster)
    data = [
        ("b", "red", 3, "20"),
        ("a", "red", 2, "5"),
        ("d", "blue", 2, "100"),
        ("c", "red", 4, None),
    ]
    for name, color, wheels, price in data:
        values: dict[str, Any] = {"name": name, "color": color, "wheels": wheels}
        if price is not None:
            values["price"] = price
        Bike(**values)
    assert list(Bike.collection()) == ["1", "2", "3", "4"]
    assert list(Bike.collection(color="red")) == ["1", "2", "4"]
    assert list(Bike.collection(color="red", wheels=2)) == ["2"]
    assert list(Bike.collection(color="red", pk=4)) == ["4"]
    assert list(Bike.collection(color="blue", pk=4)) == []
    assert list(Bike.collection().sort(by="name", alpha=True)) == ["2", "1", "4", "3"]
    assert list(Bike.collection().sort(by="-name", alpha=True)) == ["3", "4", "1", "2"]
    # numeric sort of a hash field, a missing value counts as 0
    assert list(Bike.collection().sort(by="price")) == ["4", "2", "1", "3"]
    # ties by pk, reversed with the order (as SORT does)
    assert list(Bike.collection().sort(by="-wheels")) == ["4", "1", "3", "2"]
    assert list(Bike.collection().sort(by="wheels")) == ["2", "3", "1", "4"]
    assert list(Bike.collection().sort(by="-pk")) == ["4", "3", "2", "1"]
    assert sorted(Bike.collection(color="red").sort(by="nosort")) == ["1", "2", "4"]
    with RoundTripCounter() as rt:
        assert Bike.collection(color="red").sort(by="name", alpha=True)[1:3] == ["1", "4"]
    assert rt.count == 1
    assert Bike.collection().sort(by="name", alpha=True)[0] == "2"
    with pytest.raises(IndexError):
        Bike.collection(color="green")[0]
    with RoundTripCounter() as rt:
        bikes = list(Bike.collection(color="red").instances().sort(by="-name", alpha=True))
    assert rt.count == 1
    assert [b.pk.get() for b in bikes] == ["4", "1", "2"]
    with RoundTripCounter() as rt:
        assert [b.name.hget() for b in bikes] == ["c", "b", "a"]
        assert [b.wheels.get() for b in bikes] == ["4", "3", "2"]
    assert rt.count == 0  # prefetched with the collection
    assert len(Bike.collection(color="red")) == 3
    assert Bike.exists(color="blue") and not Bike.exists(color="green")
    assert Bike.get(name="d").pk.get() == "3"


def test_collection_order_matches_sort_on_one_server(
    limpyd_cluster: PipelineDatabase, single_db: RedisDatabase
) -> None:
    # distinct labels: SORT leaves the order of equal text values undefined
    values = ["10", "9", "b", "B", "a", "", "é", "1"]
    orders = []
    for database in (limpyd_cluster, single_db):
        Item = type(
            "Item",
            (model.RedisModel,),
            {"database": database, "label": fields.InstanceHashField(), "n": fields.StringField()},
        )
        for i, label in enumerate(values):
            Item(label=label, n=str((i * 7) % 5))
        orders.append(
            (
                list(Item.collection().sort(by="label", alpha=True)),
                list(Item.collection().sort(by="-label", alpha=True)),
                list(Item.collection().sort(by="n")),
                list(Item.collection().sort(by="-n")[2:5]),
            )
        )
    assert orders[0] == orders[1]


# -- related models -------------------------------------------------------------------------


def make_related(database: PipelineDatabase, tag: str | None) -> tuple[Any, Any]:
    extra = {} if tag is None else {"cluster_tag": tag}
    person = type(
        "Person",
        (related.RelatedModel,),
        {"database": database, "name": fields.InstanceHashField(unique=True), **extra},
    )
    group = type(
        "Group",
        (related.RelatedModel,),
        {
            "database": database,
            "name": fields.InstanceHashField(unique=True),
            "owner": related.FKInstanceHashField("Person", related_name="owned_groups"),
            "members": related.M2MSetField("Person", related_name="membership"),
            **extra,
        },
    )
    return person, group


@pytest.mark.parametrize("tag", [None, "people"], ids=["own-tags", "shared-tag"])
def test_related_fk_and_m2m(
    limpyd_cluster: PipelineDatabase, cluster_db: ClusterDatabase, tag: str | None
) -> None:
    """Every related operation touches one model per script, so it works with each model in
    its own slot or with a shared tag; the deletion follows the links either way."""
    person, group = make_related(limpyd_cluster, tag)
    alice, bob = person(name="alice"), person(name="bob")
    admins = group(name="admins", owner=alice)
    users = group(name="users", owner=alice)
    admins.members.sadd(alice, bob)
    users.members.sadd(bob)
    prefix = {None: ("{:person}", "{:group}"), "people": ("{people}:person", "{people}:group")}
    p_prefix, g_prefix = prefix[tag]
    keys = keys_of(cluster_db)
    assert f"{g_prefix}:owner:1" in keys and f"{g_prefix}:1:members" in keys
    assert f"{p_prefix}:1:hash" in keys
    assert sorted(alice.owned_groups()) == ["1", "2"]
    assert sorted(bob.membership()) == ["1", "2"]
    assert [g.name.hget() for g in alice.membership().instances()] == ["admins"]
    assert list(group.collection(owner=alice, members=bob)) == ["1", "2"]
    bob.delete()
    assert admins.members.smembers() == {"1"} and users.members.smembers() == set()
    alice.delete()
    assert admins.owner.hget() is None and list(group.collection(owner="1")) == []
    assert all(not k.startswith(g_prefix + ":members:") for k in keys_of(cluster_db))
    if tag is not None:
        assert len({key_slot(k) for k in keys_of(cluster_db)}) == 1


# -- pipelines and transactions ---------------------------------------------------------------


def test_pipeline_on_one_model(limpyd_cluster: PipelineDatabase) -> None:
    Bike = make_bike(limpyd_cluster)
    bike = Bike(name="mountain", color="red")
    with limpyd_cluster.pipeline() as pipe:
        assert isinstance(pipe, LimpydClusterPipeline)
        bike.size.set(4)
        bike.price.hset("10")
        bike.parts.rpush("a")
        bike.name.hget()
        with RoundTripCounter() as rt:
            results = pipe.execute()
    assert rt.count == 1
    assert results == [True, 1, 1, "mountain"]
    assert not limpyd_cluster.has_pipeline()
    assert bike.size.get() == "4" and bike.price.hget() == "10"
    with limpyd_cluster.pipeline() as pipe:
        with pytest.raises(ImplementationError):
            bike.color.hset("blue")
        with pytest.raises(ImplementationError):
            Bike(name="x")
    assert bike.color.hget() == "red"


def test_transaction_watch_and_cross_slot(
    limpyd_cluster: PipelineDatabase, cluster_db: ClusterDatabase
) -> None:
    Bike = make_bike(limpyd_cluster)
    Car = type("Car", (model.RedisModel,), {"database": limpyd_cluster, "n": fields.StringField()})
    bike = Bike(name="mountain", size=2)
    car = Car(n="1")

    def double(pipe: Any) -> None:
        value = int(bike.size.get())
        pipe.multi()
        bike.size.set(value * 2)

    assert limpyd_cluster.transaction(double, bike.size) == [True]
    assert bike.size.get() == "4"
    before = snapshot(cluster_db)
    with pytest.raises(CrossSlotError, match="transaction"):
        limpyd_cluster.transaction(double, bike.size, car.n)
    pipe = limpyd_cluster.pipeline()
    bike.size.set(10)
    car.n.set(10)
    with pytest.raises(CrossSlotTransactionError):
        pipe.execute()
    assert not limpyd_cluster.has_pipeline()
    assert snapshot(cluster_db) == before
    # without a transaction the commands may span slots (one round trip per node)
    with limpyd_cluster.pipeline(transaction=False):
        bike.size.set(10)
        car.n.set(10)
        assert limpyd_cluster.connection.execute() == [True, True]
    assert bike.size.get() == "10" and car.n.get() == "10"


def test_transaction_retries_after_a_concurrent_change(
    limpyd_cluster: PipelineDatabase, cluster_db: ClusterDatabase
) -> None:
    Bike = make_bike(limpyd_cluster)
    bike = Bike(name="mountain", size=0)
    seen: list[str] = []

    def incr(pipe: Any) -> None:
        value = bike.size.get()
        seen.append(value)
        if len(seen) == 1:
            cluster_db.set(bike.size.key, "10")  # another client writes between read and EXEC
        pipe.multi()
        bike.size.set(int(value) + 1)

    assert limpyd_cluster.transaction(incr, bike.size) == [True]
    assert seen == ["0", "10"]
    assert bike.size.get() == "11"
    assert not limpyd_cluster.has_pipeline()
