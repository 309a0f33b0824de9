"""AsyncModel writes queued in one MULTI/EXEC: ``async with AsyncAtomic(db) as a`` (what
``db.atomic()`` gives on asyncio) and ``pipeline=`` on ``create``, ``save``, ``delete``,
``incr`` and many-to-many ``add``/``remove``, compared with the sync models in
``with sync.atomic() as t`` on the same data: the same replies, keys and round trips."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from tests.support.asyncio_clients import run_with_clients as run
from tests.support.stored import stored
from walrus import Database, IntegerField, ManyToManyField, Model, TextField
from walrus.asyncio import AsyncDatabase, AsyncModel
from walrus.asyncio.atomic import AsyncAtomic
from walrus.models import PipelineError
from walrus.roundtrips import RoundTripCounter


def declare(base: type[Model], database: Any) -> tuple[Any, Any]:
    """An item model (text key, unique email, indexed and unindexed counters) and a box
    linking items, on ``base``: the same keys for Model and AsyncModel."""

    class Item(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "shop"  # one slot for a transaction's keys on a cluster
        code = TextField(primary_key=True)
        email = TextField(unique=True)
        qty = IntegerField(index=True, default=0)
        hits = IntegerField(default=0)

    class Box(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "shop"
        name = TextField(primary_key=True)
        items = ManyToManyField(Item, related_name="boxes")

    return Item, Box


def declare_log(base: type[Model], database: Any) -> Any:
    """A model in no relation (its deletes can be queued), on ``base``."""

    class Log(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "shop"
        line = TextField(primary_key=True)
        level = TextField(index=True)

    return Log


def test_a_block_of_model_writes_is_one_transaction_like_the_sync_block(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AItem, ABox = declare(AsyncModel, db)
        SItem, SBox = declare(Model, sync)
        # the same writes, on the sync model, then on the async one (over the same keys)
        SItem.create(code="old", email="old@x", qty=1)
        SBox.create(name="b")
        with RoundTripCounter() as sync_rt, sync.atomic() as t:
            SItem.create(code="n1", email="1@x", qty=5, pipeline=t.pipe)
            SItem.create(code="n2", email="2@x", qty=6, pipeline=t.pipe)
            t.pipe.set("{shop}plain", "v")
        sync_after = stored(sync)
        sync.flushdb()
        await AItem.create(code="old", email="old@x", qty=1)
        await ABox.create(name="b")
        with RoundTripCounter() as async_rt:
            async with AsyncAtomic(db) as a:
                await AItem.create(code="n1", email="1@x", qty=5, pipeline=a.pipe)
                await AItem.create(code="n2", email="2@x", qty=6, pipeline=a.pipe)
                a.pipe.set("{shop}plain", "v")
                assert sync.exists(AItem._row_key("n1")) == 0  # nothing sent yet
        assert sync_rt.count == 1
        assert async_rt.count == 2  # the block, and the EXISTS inside it
        assert a.results == [[1], [1], True]
        assert stored(sync) == sync_after
        assert [i.code async for i in AItem.query(AItem.qty >= 5)] == ["n1", "n2"]
        assert await AItem.check_indexes() == []

    run(async_url, body)


def test_every_queued_model_write_gives_the_sync_replies(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AItem, ABox = declare(AsyncModel, db)
        SItem, SBox = declare(Model, sync)

        def seed() -> None:
            sync.flushdb()
            SItem.create(code="a", email="a@x", qty=1)
            SItem.create(code="b", email="b@x", qty=2)
            SBox.create(name="box")
            SLog.create(line="l1", level="info")

        SLog, ALog = declare_log(Model, sync), declare_log(AsyncModel, db)
        seed()
        a, b, box = SItem.load("a"), SItem.load("b"), SBox.load("box")
        log = SLog.load("l1")
        a.qty, a.email = 10, "a2@x"
        with RoundTripCounter() as sync_rt, sync.atomic() as t:
            a.save(pipeline=t.pipe)
            assert b.incr("hits", 3, pipeline=t.pipe) is None
            box.items.add(a, "b", pipeline=t.pipe)
            box.items.remove("b", pipeline=t.pipe)
            log.delete(pipeline=t.pipe)
            sync_replies = t.pipe.execute()
        sync_after = stored(sync)
        seed()
        aa, ab, abox = await AItem.load("a"), await AItem.load("b"), await ABox.load("box")
        alog = await ALog.load("l1")
        aa.qty, aa.email = 10, "a2@x"
        with RoundTripCounter() as async_rt:
            async with AsyncAtomic(db) as tx:
                await aa.save(pipeline=tx.pipe)
                assert await ab.incr("hits", 3, pipeline=tx.pipe) is None
                assert await abox.items.add(aa, "b", pipeline=tx.pipe) is None
                assert await abox.items.remove("b", pipeline=tx.pipe) is None
                await alog.delete(pipeline=tx.pipe)
                async_replies = await tx.commit(begin_new=False)
        assert async_replies == sync_replies
        assert async_replies[1] == [1, b"3"]
        assert async_rt.count == sync_rt.count == 1
        assert stored(sync) == sync_after
        assert (await AItem.load("a")).qty == 10 and aa.qty == 10
        assert [i.code async for i in (await ABox.load("box")).items] == ["a"]

    run(async_url, body)


def test_writes_that_need_a_read_are_refused_before_anything_is_queued(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AItem, ABox = declare(AsyncModel, db)
        SItem, SBox = declare(Model, sync)
        await AItem.create(code="a", email="a@x", qty=1)
        box = await ABox.create(name="box")
        before = stored(sync)
        stale = AItem(code="a", email="z@x")  # replaces a row it never read

        class Counted(AsyncModel):  # an auto-increment key: the script allocates it
            __database__ = db
            name = TextField()

        with RoundTripCounter() as rt:
            async with AsyncAtomic(db) as tx:
                with pytest.raises(PipelineError, match="indexed"):
                    await stale.incr("qty", 1, pipeline=tx.pipe)
                with pytest.raises(PipelineError, match="auto-increment"):
                    await Counted.create(name="x", pipeline=tx.pipe)
                with pytest.raises(PipelineError, match="reads the links"):
                    await box.items.clear(pipeline=tx.pipe)
                assert len(tx.pipe) == 0
        assert rt.count == 0
        assert tx.results == []
        assert stored(sync) == before
        # the sync model refuses the same writes
        with sync.atomic() as t:
            with pytest.raises(PipelineError, match="indexed"):
                SItem(code="a", email="z@x").incr("qty", 1, pipeline=t.pipe)
            with pytest.raises(PipelineError, match="reads the links"):
                SBox.load("box").items.clear(pipeline=t.pipe)

    run(async_url, body)


def test_an_error_in_the_block_sends_nothing(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AItem, _ = declare(AsyncModel, db)
        with RoundTripCounter() as rt, pytest.raises(RuntimeError, match="boom"):
            async with AsyncAtomic(db) as tx:
                await AItem.create(code="x", email="x@x", pipeline=tx.pipe)
                tx.set("{shop}plain", "v")  # the pipeline's own commands, through the block
                raise RuntimeError("boom")
        assert rt.count == 0
        assert tx.pipe is None and tx.results is None
        assert stored(sync) == {}

    run(async_url, body)


def test_a_refused_queued_write_raises_on_exit_as_in_the_sync_block(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AItem, _ = declare(AsyncModel, db)
        SItem, _ = declare(Model, sync)
        await AItem.create(code="a", email="taken@x")
        before = stored(sync)
        with pytest.raises(redis.ResponseError, match="WALRUS_REFUSED") as sync_error:
            with sync.atomic() as t:
                SItem.create(code="s", email="taken@x", pipeline=t.pipe)
        with RoundTripCounter() as rt:
            with pytest.raises(redis.ResponseError, match="WALRUS_REFUSED") as async_error:
                async with AsyncAtomic(db) as tx:
                    await AItem.create(code="s", email="taken@x", pipeline=tx.pipe)
        assert rt.count == 1
        # The same refusal; redis-py 5.0's asyncio pipeline quotes the reply's args tuple in
        # its message ("('WALRUS_REFUSED ...',)"), so compare the refusal, not the wrapping.
        refusal = str(sync_error.value).split("error: ", 1)[1]
        assert refusal.startswith("WALRUS_REFUSED unique") and refusal in str(async_error.value)
        assert stored(sync) == before
        # the client stays usable
        assert await AItem.count() == 1

    run(async_url, body)


def test_commit_and_clear_keep_the_block_open_and_nest(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AItem, _ = declare(AsyncModel, db)
        with RoundTripCounter() as rt:
            async with AsyncAtomic(db) as outer:
                await AItem.create(code="a", email="a@x", pipeline=outer.pipe)
                assert await outer.commit() == [[1]]
                first = rt.count
                await AItem.create(code="b", email="b@x", pipeline=outer.pipe)
                await outer.clear()
                async with AsyncAtomic(db) as inner:
                    await AItem.create(code="c", email="c@x", pipeline=inner.pipe)
                await AItem.create(code="d", email="d@x", pipeline=outer.pipe)
                assert sync.exists(AItem._row_key("c")) == 1
                assert sync.exists(AItem._row_key("d")) == 0
        assert first == 1
        assert rt.count == 5  # commit, inner block, two EXISTS, outer block
        assert sorted([i.code async for i in AItem.all()]) == ["a", "c", "d"]
        with pytest.raises(RuntimeError, match="outside its async with"):
            await outer.commit()
        with pytest.raises(AttributeError):
            outer.set  # noqa: B018 - no pipeline outside the block
        block = AsyncAtomic(db)
        async with block:
            with pytest.raises(RuntimeError, match="already open"):
                await block.__aenter__()

    run(async_url, body)
