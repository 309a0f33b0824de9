"""``Model()`` stores nothing; the first write of the unsaved instance saves it together with its
defaults, their index entries and unique checks, in the write's own script: one round trip,
and a refused write leaves nothing in Redis (no pk, no counter move, no value, no index)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from redis.exceptions import ResponseError

from limpyd import fields, model
from limpyd.contrib.database import PipelineDatabase
from limpyd.contrib.indexes import EqualIndexWith
from limpyd.database import RedisDatabase
from limpyd.exceptions import ImplementationError, UniquenessError
from limpyd.indexes import NumberRangeIndex, TextRangeIndex
from walrus.roundtrips import RoundTripCounter


def plain_model(db: RedisDatabase) -> Any:
    """Plain indexes only: defaults on indexable string, set and instance-hash fields, beside a
    unique field without default and a non-numeric default."""

    class Bike(model.RedisModel):
        database = db
        name = fields.StringField(unique=True)
        wheels = fields.StringField(indexable=True, default=2)
        tags = fields.SetField(indexable=True, default=["city", "red"])
        power = fields.InstanceHashField(indexable=True, default="legs")
        color = fields.InstanceHashField()
        label = fields.StringField(default="abc")

    return Bike


def ops_model(db: RedisDatabase) -> Any:
    """Client-computed index entries: range indexes (one unique), a HashField, defaults."""

    class Boat(model.RedisModel):
        database = db
        name = fields.StringField(unique=True, indexes=[TextRangeIndex])
        length = fields.InstanceHashField(indexable=True, indexes=[NumberRangeIndex], default=5)
        meta = fields.HashField(indexable=True, default={"kind": "sail"})
        color = fields.StringField()

    return Boat


def keys_of(raw: Any) -> dict[str, Any]:
    """Every key with its type (works on one server and on a cluster client)."""
    return {key: raw.type(key) for key in raw.scan_iter()}


def test_instantiation_sends_nothing(limpyd_db: RedisDatabase, raw) -> None:
    Bike = plain_model(limpyd_db)
    Boat = ops_model(limpyd_db)
    with RoundTripCounter() as rt:
        bike, boat = Bike(), Boat()
    assert rt.count == 0
    assert bike._pk is None and boat._pk is None
    assert not bike.connected and not boat.connected
    assert raw.keys() == []
    assert list(Bike.collection()) == [] and len(Boat.collection()) == 0


def test_first_write_saves_the_defaults_in_one_round_trip(
    limpyd_db: RedisDatabase, raw, helpers
) -> None:
    Bike = plain_model(limpyd_db)
    bike = Bike()
    with RoundTripCounter() as rt:
        assert bike.color.hset("blue") == 1
    assert rt.count == 1
    assert bike.get_pk() == "1" and bike.connected
    assert raw.smembers(":bike:collection") == {"1"} and raw.get(":bike:max_pk") == "1"
    assert raw.hgetall(":bike:1:hash") == {"power": "legs", "color": "blue"}
    assert raw.get(":bike:1:wheels") == "2" and raw.get(":bike:1:label") == "abc"
    assert raw.smembers(":bike:1:tags") == {"city", "red"}
    # the defaults' index entries are there, as at a creation
    assert raw.smembers(":bike:wheels:2") == {"1"}
    assert raw.smembers(":bike:tags:city") == raw.smembers(":bike:tags:red") == {"1"}
    assert raw.smembers(":bike:power:legs") == {"1"}
    for name in ("wheels", "tags", "power"):
        helpers.assert_index_consistent(raw, Bike, name)
    assert list(Bike.collection(wheels=2, tags="red", power="legs")) == ["1"]


def test_first_write_runs_on_top_of_the_default(limpyd_db: RedisDatabase, raw, helpers) -> None:
    """The command sees the default (INCR of 2 gives 3) and only the result is indexed."""
    Bike = plain_model(limpyd_db)
    bike = Bike()
    with RoundTripCounter() as rt:
        assert bike.wheels.incr() == 3
        assert bike.tags.srem("red") == 1
    assert rt.count == 2
    assert raw.get(":bike:1:wheels") == "3" and raw.smembers(":bike:1:tags") == {"city"}
    assert not raw.exists(":bike:wheels:2") and not raw.exists(":bike:tags:red")
    for name in ("wheels", "tags", "power"):
        helpers.assert_index_consistent(raw, Bike, name)


def test_a_unique_refusal_leaves_nothing(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Bike = plain_model(limpyd_db)
    Bike(name="taken")
    before = helpers.snapshot(raw)
    fresh = Bike()
    with pytest.raises(UniquenessError, match="taken"):
        fresh.name.set("taken")
    assert fresh._pk is None and not fresh.connected
    assert helpers.snapshot(raw) == before  # no pk, no counter move, no default, no index
    assert fresh.name.set("mine") is True  # the next attempt gets the next pk
    assert fresh.get_pk() == "2" and raw.smembers(":bike:wheels:2") == {"1", "2"}
    for name in ("name", "wheels", "tags", "power"):
        helpers.assert_index_consistent(raw, Bike, name)


def test_a_command_error_leaves_nothing(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Bike = plain_model(limpyd_db)
    before = helpers.snapshot(raw)
    bike = Bike()
    with pytest.raises(ResponseError, match="not an integer"):
        bike.label.incr()  # the default "abc" is no number: Redis refuses the INCR
    assert bike._pk is None
    assert helpers.snapshot(raw) == before == {}


def test_reading_saves_an_instance_whose_model_has_defaults(limpyd_db: RedisDatabase, raw) -> None:
    """As redis-limpyd, which saves the defaults at the instance's first use: a read of a
    default returns it. Without defaults there is nothing to read and nothing is saved."""
    Bike = plain_model(limpyd_db)
    bike = Bike()
    with RoundTripCounter() as rt:
        assert bike.wheels.get() == "2"
    assert rt.count == 2  # the save, then the read
    assert bike.get_pk() == "1" and raw.smembers(":bike:wheels:2") == {"1"}
    other = Bike()
    assert other.hmget("power", "color") == ["legs", None] and other.get_pk() == "2"
    third = Bike()
    assert third.tags.exists() and third.get_pk() == "3"


def test_first_write_with_client_computed_indexes(limpyd_db: RedisDatabase, raw, helpers) -> None:
    Boat = ops_model(limpyd_db)
    Boat(name="taken")
    boat = Boat()
    with RoundTripCounter() as rt:
        assert boat.color.set("red") is True  # not indexed: the defaults' entries are known
    assert rt.count == 1
    assert boat.get_pk() == "2"
    assert raw.zrange(":boat:length:number-range", 0, -1, withscores=True) == [
        ("1", 5.0),
        ("2", 5.0),
    ]
    assert raw.smembers(":boat:meta:kind:sail") == {"1", "2"}
    assert set(Boat.collection(length__gte=5, meta__kind="sail")) == {"1", "2"}

    other = Boat()
    with RoundTripCounter() as rt:
        assert other.length.hincrby(3) == 8  # indexed: the first run reports the result
    assert rt.count == 2
    assert set(Boat.collection(length=8)) == {other.get_pk()} == {"3"}
    assert raw.hgetall(":boat:3:meta") == {"kind": "sail"}

    before = helpers.snapshot(raw)
    refused = Boat()
    with pytest.raises(UniquenessError):
        refused.name.set("taken")
    with pytest.raises(ResponseError):
        refused.meta.hincrby("kind", 1)  # the default "sail" is no number: Redis refuses it
    assert refused._pk is None and helpers.snapshot(raw) == before
    refused.meta.hset("kind", "motor")
    assert set(Boat.collection(meta__kind="motor")) == {"4"}
    assert set(Boat.collection(length=5)) == {"1", "2", "4"}


def test_a_default_inside_a_unique_combination(limpyd_db: RedisDatabase, raw, helpers) -> None:
    """EqualIndexWith(unique=True): the default's part of the combination is checked by the
    first write too."""

    class Seat(model.RedisModel):
        database = limpyd_db
        row = fields.StringField(indexable=True, default="A")
        number = fields.StringField(
            indexable=True,
            indexes=[EqualIndexWith.configure(other_fields=["row"], unique=True)],
        )

    Seat(number="1")
    before = helpers.snapshot(raw)
    seat = Seat()
    with pytest.raises(UniquenessError):
        seat.number.set("1")  # (1, A) is taken
    assert seat._pk is None and helpers.snapshot(raw) == before
    seat.number.set("2")
    assert set(Seat.collection(number="2", row="A")) == {"2"}
    third = Seat()
    third.row.set("B")
    assert set(Seat.collection(row="B")) == {"3"} and set(Seat.collection(row="A")) == {"1", "2"}


def test_concurrent_first_writes_get_distinct_pks(limpyd_db: RedisDatabase, raw, helpers) -> None:
    """Threads race for the auto-pk counter: each first write retries until it gets its own pk,
    with its defaults and their index entries."""
    Bike = plain_model(limpyd_db)
    threads, per_thread = 6, 15
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for n in range(per_thread):
                Bike().color.hset(f"c{i}-{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    total = threads * per_thread
    assert raw.scard(":bike:collection") == total and raw.get(":bike:max_pk") == str(total)
    assert raw.scard(":bike:wheels:2") == total
    for name in ("wheels", "tags", "power"):
        helpers.assert_index_consistent(raw, Bike, name)


def test_pipelines_do_not_save_an_unsaved_instance(pipeline_db: PipelineDatabase, raw) -> None:
    Bike = plain_model(pipeline_db)
    with pipeline_db.pipeline():
        bike = Bike()  # no Redis work: fine inside a pipeline
        with pytest.raises(ImplementationError, match="pipeline"):
            bike.color.hset("x")
        with pytest.raises(ImplementationError, match="pipeline"):
            bike.wheels.get()  # reading needs the defaults saved
    assert raw.keys() == []
    bike.color.hset("x")
    assert raw.get(":bike:1:wheels") == "2"


def test_first_write_on_the_memory_engine() -> None:
    database = RedisDatabase.from_url(f"memory://limpyd-{uuid.uuid4().hex[:8]}")
    Bike = plain_model(database)
    Boat = ops_model(database)
    Bike(name="taken")
    with pytest.raises(UniquenessError):
        Bike().name.set("taken")
    bike = Bike()
    assert bike.wheels.incr() == 3 and bike.get_pk() == "2"
    assert list(Bike.collection(wheels=3, power="legs")) == ["2"]
    assert list(Bike.collection(wheels=2)) == ["1"]
    boat = Boat()
    assert boat.length.hincrby(2) == 7
    assert list(Boat.collection(length__gt=6, meta__kind="sail")) == [boat.get_pk()]
    database.close()
