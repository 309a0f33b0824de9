"""The redis-limpyd 2.x additions on a real 3-primary Redis Cluster: client-computed index
operations (range indexes, configured indexes, HashField) and range filters run as scripts in
the model's slot."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from limpyd import fields, model
from limpyd.contrib.collection import ExtendedCollectionManager
from limpyd.contrib.database import PipelineDatabase
from limpyd.exceptions import ImplementationError, UniquenessError
from limpyd.indexes import EqualIndex, NumberRangeIndex, TextRangeIndex
from tests.limpyd.test_first_write import keys_of, ops_model, plain_model
from walrus.database import ClusterDatabase
from walrus.roundtrips import RoundTripCounter

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster(redis_cluster: Any) -> Iterator[tuple[PipelineDatabase, ClusterDatabase]]:
    raw = ClusterDatabase.from_url(redis_cluster.url())
    raw.flushall()
    database = PipelineDatabase(
        cluster_nodes=[(redis_cluster.host, p) for p in redis_cluster.ports]
    )
    yield database, raw
    database.close()
    raw.flushall()
    raw.close()


def test_range_indexes_hashfield_and_filters_on_a_cluster(cluster: Any) -> None:
    database, raw = cluster

    class Boat(model.RedisModel):
        database = cluster[0]
        namespace = "c2"
        name = fields.StringField(unique=True, indexes=[TextRangeIndex])
        length = fields.InstanceHashField(indexable=True, indexes=[NumberRangeIndex])
        nick = fields.StringField(
            indexable=True,
            indexes=[EqualIndex, EqualIndex.configure(prefix="up", transform=str.upper)],
        )
        meta = fields.HashField(indexable=True)

    for name, length in [("abc", 10), ("abd", 12.5), ("b", 20)]:
        Boat(name=name, length=length, nick=name, meta={"k": name})
    assert set(Boat.collection(name__startswith="ab")) == {"1", "2"}
    assert set(Boat.collection(length__gte=12.5, name__lt="b")) == {"2"}
    assert set(Boat.collection(nick__up="ABD")) == {"2"}
    assert set(Boat.collection(meta__k="b")) == {"3"}
    assert len(Boat.collection(length__in=[10, 20])) == 2
    assert Boat.collection(length__gte=11)._count() == 2  # counted by the filter script
    assert Boat.collection(nick="abc")._count() == 1
    assert list(Boat.collection(length__gt=0).sort(by="-length")) == ["3", "2", "1"]
    before = {key: raw.type(key) for key in raw.scan_iter()}
    with pytest.raises(UniquenessError):
        Boat(name="abc")
    with pytest.raises(UniquenessError):
        Boat(2).name.set("b")
    assert {key: raw.type(key) for key in raw.scan_iter()} == before
    boat = Boat(1)
    boat.length.hincrbyfloat(5)
    boat.meta.hset("k", "z")
    assert set(Boat.collection(length=15)) == {"1"} and set(Boat.collection(meta__k="z")) == {"1"}
    boat.delete()
    assert set(Boat.collection(name__startswith="a")) == {"2"}
    with pytest.raises(ImplementationError, match="Cluster"):
        list(Boat.collection(manager=ExtendedCollectionManager).intersect(["2"]))


def test_equal_index_with_on_a_cluster(cluster: Any) -> None:
    from limpyd.contrib.indexes import EqualIndexWith

    class Seat(model.RedisModel):
        database = cluster[0]
        namespace = "c2"
        row = fields.InstanceHashField()
        tags = fields.ListField()
        number = fields.InstanceHashField(
            indexable=True,
            indexes=[EqualIndexWith.configure(other_fields=["row", "tags"], unique=True)],
        )

    one = Seat(number=1, row="A", tags=["x", "y"]).pk.get()
    two = Seat(number=2, row="A", tags=["x"]).pk.get()
    assert set(Seat.collection(number__in=[1, 2], row="A", tags="x")) == {one, two}
    assert set(Seat.collection(number=1, row="A")(tags="y")) == {one}
    with pytest.raises(UniquenessError):
        Seat(number=1, row="A", tags=["y"])
    with pytest.raises(ImplementationError):
        list(Seat.collection(row="A", tags="x"))


def test_first_write_saves_the_defaults_on_a_cluster(cluster: Any) -> None:
    """``Model()`` then a first write: the defaults, their index entries and the unique checks
    go in the write's script, in the model's slot; a refusal leaves no key."""
    database, raw = cluster
    Bike, Boat = plain_model(database), ops_model(database)
    Bike(name="taken")
    Boat(name="taken")
    before = keys_of(raw)
    with RoundTripCounter() as rt:
        bike, boat = Bike(), Boat()
    assert rt.count == 0
    with pytest.raises(UniquenessError):
        bike.name.set("taken")
    with pytest.raises(UniquenessError):
        boat.name.set("taken")
    assert keys_of(raw) == before and bike._pk is None and boat._pk is None
    with RoundTripCounter() as rt:
        assert bike.wheels.incr() == 3
    assert rt.count == 1
    assert raw.hgetall("{:bike}:2:hash") == {b"power": b"legs"}
    assert raw.smembers("{:bike}:wheels:3") == {b"2"}
    assert raw.smembers("{:bike}:tags:red") == {b"1", b"2"}
    assert list(Bike.collection(wheels=3, tags="red", power="legs")) == ["2"]
    assert boat.length.hincrby(2) == 7
    assert set(Boat.collection(length__gt=6, meta__kind="sail")) == {"2"}
    assert set(Boat.collection(length__lt=6)) == {"1"}
