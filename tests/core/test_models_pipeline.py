"""walrus.models inside pipelines and transactions: writes that need no read are queued;
the others raise PipelineError before anything is queued."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis

from walrus import Database
from walrus.exceptions import WalrusError
from walrus.models import (
    FieldTypeError,
    FloatField,
    ForeignKeyField,
    IntegerField,
    ManyToManyField,
    Model,
    PipelineError,
    TextField,
    UUIDField,
)
from walrus.roundtrips import RoundTripCounter


def snapshot(db: Database) -> dict[bytes, Any]:
    return {key: db.dump(key) for key in db.scan_iter()}


def make_models(db: Database) -> tuple[type[Model], type[Model]]:
    class Item(Model):
        __database__ = db
        code = TextField(primary_key=True)
        email = TextField(unique=True)
        qty = IntegerField(index=True, default=0)

    class Counted(Model):
        __database__ = db
        name = TextField(index=True)

    return Item, Counted


def test_creates_are_queued_and_sent_in_one_round_trip(db: Database) -> None:
    Item, _ = make_models(db)
    Item.create(code="warm", email="w@x")
    pipe = db.pipeline()
    with RoundTripCounter() as rt:
        for i in range(20):
            Item.create(code=f"c{i}", email=f"{i}@x", qty=i, pipeline=pipe)
        assert Item.count() == 1  # nothing sent yet (this count is the one round trip)
        results = pipe.execute()
    assert rt.count == 2
    assert results == [[1]] * 20
    assert Item.count() == 21
    assert [i.code for i in Item.query(Item.qty >= 18)] == ["c18", "c19"]
    assert Item.check_indexes() == []


def test_generated_uuid_key_works_in_a_pipeline(db: Database) -> None:
    class Doc(Model):
        __database__ = db
        key = UUIDField(primary_key=True)
        title = TextField(index=True)

    with db.pipeline() as pipe:
        doc = Doc.create(title="t", pipeline=pipe)
        assert isinstance(doc.key, uuid.UUID)
        pipe.execute()
    assert Doc.load(doc.key).title == "t"


def test_save_and_delete_of_loaded_rows_are_queued(db: Database) -> None:
    Item, _ = make_models(db)
    Item.create(code="a", email="a@x", qty=1)
    Item.create(code="b", email="b@x", qty=2)
    a, b = Item.load("a"), Item.load("b")
    a.qty = 10
    pipe = db.pipeline(transaction=True)
    a.save(pipeline=pipe)
    b.delete(pipeline=pipe)
    pipe.incr("unrelated")
    assert Item.load("a").qty == 1  # still queued
    pipe.execute()
    assert Item.load("a").qty == 10
    assert Item.count() == 1
    assert [i.code for i in Item.query(Item.qty == 10)] == ["a"]
    assert Item.check_indexes() == []
    a.qty = 11
    a.save()  # the instance's state after the queued save is right: 1 round trip
    assert Item.check_indexes() == []


def test_reads_are_refused_before_anything_is_queued(db: Database) -> None:
    Item, Counted = make_models(db)
    Item.create(code="a", email="a@x")
    pipe = db.pipeline()
    with pytest.raises(PipelineError, match="auto-increment") as info:
        Counted.create(name="x", pipeline=pipe)
    assert isinstance(info.value, WalrusError)
    unloaded = Item(code="a", email="a@x")
    with pytest.raises(PipelineError, match="unknown"):
        unloaded.delete(pipeline=pipe)
    assert len(pipe.command_stack) == 0
    assert Counted.count() == 0


def test_deletes_following_relations_are_refused_in_a_pipeline(db: Database) -> None:
    class Owner(Model):
        __database__ = db
        code = TextField(primary_key=True)

    class Pet(Model):
        __database__ = db
        owner = ForeignKeyField(Owner)

    owner = Owner.create(code="o")
    pipe = db.pipeline()
    with pytest.raises(PipelineError, match="relations"):
        owner.delete(pipeline=pipe)
    assert len(pipe.command_stack) == 0
    assert Owner.count() == 1


def test_refusals_surface_when_the_pipeline_runs(db: Database) -> None:
    Item, _ = make_models(db)
    Item.create(code="a", email="a@x")
    before = snapshot(db)
    pipe = db.pipeline(transaction=False)
    Item.create(code="b", email="a@x", pipeline=pipe)  # unique email taken
    Item.create(code="a", email="z@x", pipeline=pipe)  # a queued create needs a new row
    results = pipe.execute(raise_on_error=False)
    assert all(isinstance(r, redis.ResponseError) for r in results)
    assert "WALRUS_REFUSED unique email" in str(results[0])
    assert "WALRUS_REFUSED state" in str(results[1])
    assert snapshot(db) == before
    # A stale instance: the row changed after it was loaded.
    stale = Item.load("a")
    fresh = Item.load("a")
    fresh.email = "new@x"
    fresh.save()
    stale.qty = 5
    pipe = db.pipeline()
    stale.save(pipeline=pipe)
    with pytest.raises(redis.ResponseError, match="WALRUS_REFUSED state"):
        pipe.execute()
    assert Item.load("a").email == "new@x"
    assert Item.check_indexes() == []


def test_transaction_with_watched_keys(db: Database) -> None:
    Item, _ = make_models(db)
    Item.create(code="a", email="a@x", qty=1)
    row_key = Item.load("a").get_hash_id()
    calls: list[int] = []

    def move(pipe: Any) -> None:
        calls.append(1)
        row = Item.load("a")
        if len(calls) == 1:
            other = Item.load("a")  # a concurrent change to the watched row: EXEC aborts
            other.qty = 100
            other.save()
        pipe.multi()
        Item.create(code="b", email="b@x", qty=row.qty, pipeline=pipe)
        row.qty += 1
        row.save(pipeline=pipe)

    db.transaction(move, row_key)
    assert len(calls) == 2  # retried once by redis-py after the WatchError
    assert Item.load("a").qty == 101
    assert Item.load("b").qty == 100
    assert Item.check_indexes() == []


def test_a_watching_pipe_before_multi_runs_the_save_at_once(db: Database) -> None:
    Item, _ = make_models(db)
    Item.create(code="a", email="a@x", qty=1)
    with db.pipeline() as pipe:
        pipe.watch("something")
        row = Item.load("a")
        row.qty = 2
        row.save(pipeline=pipe)  # immediate: the pipe is watching and not in multi()
        assert Item.load("a").qty == 2
        pipe.reset()


def make_stat(db: Database) -> type[Model]:
    class Stat(Model):
        __database__ = db
        code = TextField(primary_key=True)
        hits = IntegerField(default=0)
        ratio = FloatField()
        rank = IntegerField(index=True, default=0)

    return Stat


def test_incr_of_an_unindexed_field_is_queued(db: Database) -> None:
    Stat = make_stat(db)
    stat = Stat.create(code="a")
    pipe = db.pipeline()
    assert stat.incr(Stat.hits, 5, pipeline=pipe) is None
    assert stat.incr("ratio", 0.5, pipeline=pipe) is None
    assert stat.hits == 0  # the instance is left alone: the value is only known later
    assert Stat.load("a").hits == 0  # still queued
    with RoundTripCounter() as rt:
        results = pipe.execute()
    assert rt.count == 1
    assert results == [[1, b"5"], [1, b"0.5"]]
    loaded = Stat.load("a")
    assert (loaded.hits, loaded.ratio) == (5, 0.5)
    assert Stat.check_indexes() == []


def test_incr_refusals_in_a_pipeline(db: Database) -> None:
    Stat = make_stat(db)
    stat = Stat.create(code="a", hits=2**63 - 1)
    pipe = db.pipeline()
    with pytest.raises(PipelineError, match="rank is indexed"):
        stat.incr(Stat.rank, 1, pipeline=pipe)
    assert len(pipe.command_stack) == 0
    before = snapshot(db)
    ghost = Stat(code="ghost")  # never saved
    ghost.incr(Stat.hits, 1, pipeline=pipe)
    stat.incr(Stat.hits, 1, pipeline=pipe)  # would overflow 64 bits
    results = pipe.execute(raise_on_error=False)
    assert "WALRUS_REFUSED missing" in str(results[0])
    assert "WALRUS_REFUSED range" in str(results[1])
    assert snapshot(db) == before
    pipe = db.pipeline()
    ghost.incr(Stat.hits, 1, pipeline=pipe)
    with pytest.raises(redis.ResponseError, match="WALRUS_REFUSED missing"):
        pipe.execute()
    assert snapshot(db) == before


@pytest.mark.single_node("cluster pipelines WATCH only inside a transaction of one slot")
def test_incr_of_an_indexed_field_on_a_watching_pipe_runs_at_once(db: Database) -> None:
    Stat = make_stat(db)
    stat = Stat.create(code="a", rank=1)
    with db.pipeline() as pipe:
        pipe.watch("guard")
        assert stat.incr(Stat.rank, 2, pipeline=pipe) == 3  # not queued: no multi() yet
        pipe.multi()
        stat.incr(Stat.hits, 1, pipeline=pipe)
        pipe.execute()
    loaded = Stat.load("a")
    assert (loaded.rank, loaded.hits) == (3, 1)
    assert [s.code for s in Stat.query(Stat.rank == 3)] == ["a"]
    assert Stat.check_indexes() == []


def make_tagged(db: Database) -> tuple[type[Model], type[Model]]:
    class Tag(Model):
        __database__ = db
        __cluster_tag__ = "blog"  # related models share a slot on Redis Cluster
        name = TextField(primary_key=True)

    class Post(Model):
        __database__ = db
        __cluster_tag__ = "blog"
        code = TextField(primary_key=True)
        tags = ManyToManyField(Tag, related_name="posts")

    return Tag, Post


def test_related_set_add_and_remove_are_queued(db: Database) -> None:
    Tag, Post = make_tagged(db)
    post = Post.create(code="p")
    first, _second = Tag.create(name="a"), Tag.create(name="b")
    pipe = db.pipeline()
    assert post.tags.add(first, "b", pipeline=pipe) is None
    assert post.tags.count() == 0  # queued
    with RoundTripCounter() as rt:
        assert pipe.execute() == [[1, 2]]
    assert rt.count == 1
    assert post.tags.keys() == sorted([Tag._row_key("a"), Tag._row_key("b")])
    assert first.posts.keys() == [post.get_hash_id()]
    pipe = db.pipeline(transaction=True)
    assert post.tags.remove("a", pipeline=pipe) is None
    assert post.tags.add(pipeline=pipe) is None  # nothing to link: nothing queued
    assert pipe.execute() == [[1, 1]]
    assert post.tags.keys() == [Tag._row_key("b")]
    assert first.posts.count() == 0


def test_related_set_refusals_in_a_pipeline(db: Database) -> None:
    Tag, Post = make_tagged(db)
    post = Post.create(code="p")
    post.tags.add(Tag.create(name="a"))
    before = snapshot(db)
    pipe = db.pipeline()
    with pytest.raises(FieldTypeError, match="name"):
        post.tags.add(3, pipeline=pipe)  # validated before anything is queued
    with pytest.raises(PipelineError, match="clear"):
        post.tags.clear(pipeline=pipe)
    assert len(pipe.command_stack) == 0
    post.tags.add("a", "missing", pipeline=pipe)
    with pytest.raises(redis.ResponseError, match="WALRUS_REFUSED missing"):
        pipe.execute()
    assert snapshot(db) == before  # the existing link was not re-added, "missing" not linked
    assert post.tags.clear() == 1
