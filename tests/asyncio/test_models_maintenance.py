"""AsyncModel's incr, check_indexes, rebuild_indexes and query explain(): the sync models'
steps awaited, so each gives what the sync call gives on the same data, refuses bad input
before anything is sent, and costs the same round trips."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.asyncio_clients import run_with_clients as run
from tests.support.stored import stored
from walrus import Database, FloatField, IntegerField, Model, TextField
from walrus.asyncio import AsyncDatabase, AsyncModel
from walrus.models import FieldTypeError, FieldValueError, PipelineError
from walrus.models.errors import FilterError
from walrus.models.fields import EXACT_INT
from walrus.roundtrips import RoundTripCounter


def declare(base: type[Model], database: Any) -> Any:
    """The test model on ``base`` (Model or AsyncModel): the same keys for both."""

    class Stock(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __namespace__ = "shop"
        code = TextField(primary_key=True)
        label = TextField(index=True)
        qty = IntegerField(index=True, default=0)
        price = FloatField(default=0.0)
        sold = IntegerField(default=0)
        note = TextField(fts=True)

    return Stock


# -- incr ------------------------------------------------------------------------------------


def test_incr_gives_what_the_sync_incr_gives_in_both_directions(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        row = await AStock.create(code="a", label="pen", qty=3, price=1.5)
        # async increments, read back by the sync model and its indexes
        assert await row.incr("sold", 2) == 2
        assert await row.incr(AStock.qty, 4) == 7
        assert await row.incr("price", 0.25) == 1.75
        assert (row.sold, row.qty, row.price) == (2, 7, 1.75)
        back = SStock.load("a")
        assert (back.sold, back.qty, back.price) == (2, 7, 1.75)
        assert [s.code for s in SStock.query(SStock.qty == 7)] == ["a"]
        assert list(SStock.query(SStock.qty == 3)) == []
        # sync increments, read back by the async model and its indexes
        assert back.incr("qty", -5) == 2
        assert back.incr("sold") == 3
        again = await AStock.load("a")
        assert (again.qty, again.sold) == (2, 3)
        assert [s.code async for s in AStock.query(AStock.qty == 2)] == ["a"]
        # an async instance whose indexed value is stale: the script reports the stored
        # value and the increment is redone on it, as the sync incr does
        assert row.qty == 7
        assert await row.incr("qty", 1) == 3
        assert SStock.load("a").qty == 3
        assert SStock.check_indexes() == []

    run(async_url, body)


def test_incr_round_trips_equal_the_sync_incr(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[tuple[str, int, int, Any, Any]]:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        SStock.create(code="s", label="x", qty=1)
        SStock.create(code="t", label="x", qty=1)
        srow, arow = SStock.load("s"), await AStock.load("t")
        stale_s, stale_a = SStock.load("s"), await AStock.load("t")
        counts = []
        for label, field, by in (
            ("unindexed", "sold", 5),
            ("float", "price", 2.5),
            ("indexed", "qty", 3),
        ):
            with RoundTripCounter() as sync_rt:
                sync_value = srow.incr(field, by)
            with RoundTripCounter() as async_rt:
                async_value = await arow.incr(field, by)
            counts.append((label, sync_rt.count, async_rt.count, sync_value, async_value))
        # stale instances of an indexed field: a refused guard, then the retry
        with RoundTripCounter() as sync_rt:
            sync_value = stale_s.incr("qty", 1)
        with RoundTripCounter() as async_rt:
            async_value = await stale_a.incr("qty", 1)
        counts.append(("stale", sync_rt.count, async_rt.count, sync_value, async_value))
        return counts

    counts = run(async_url, body)
    assert [(label, s, a) for label, s, a, _sv, _av in counts] == [
        ("unindexed", 1, 1),
        ("float", 1, 1),
        ("indexed", 1, 1),
        ("stale", 2, 2),
    ]
    assert [(sv, av) for *_rest, sv, av in counts] == [(5, 5), (2.5, 2.5), (4, 4), (5, 5)]


def test_incr_bad_input_raises_before_anything_is_sent(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        row = await AStock.create(code="a", label="pen", qty=3)
        srow = SStock.load("a")
        before = stored(sync)
        cases: list[tuple[tuple[Any, ...], type[Exception], str]] = [
            (("nope",), FieldTypeError, "no field 'nope'"),
            (("label",), FieldTypeError, "IntegerField or FloatField"),
            (("code",), FieldTypeError, "primary key"),
            (("qty", 1.5), FieldTypeError, "takes an int"),
            (("qty", True), FieldTypeError, "takes an int"),
            (("price", "x"), FieldTypeError, "price"),
            (("qty", EXACT_INT), FieldValueError, "qty"),
        ]
        for args, error, words in cases:
            with RoundTripCounter() as rt, pytest.raises(error, match=words):
                await row.incr(*args)
            assert rt.count == 0, args
            with pytest.raises(error, match=words):  # the sync incr refuses it alike
                srow.incr(*args)
        with RoundTripCounter() as rt:
            with pytest.raises(KeyError, match="save it"):
                await AStock(label="new").incr("qty")
            with pytest.raises(KeyError, match="save it"):
                SStock(label="new").incr("qty")
            queued, squeued = db.pipeline(), sync.pipeline()
            with pytest.raises(PipelineError, match="indexed"):
                await row.incr("qty", 1, pipeline=queued)
            with pytest.raises(PipelineError, match="indexed"):
                srow.incr("qty", 1, pipeline=squeued)
        assert rt.count == 0
        assert len(queued) == len(squeued) == 0
        await queued.reset()
        squeued.reset()
        assert stored(sync) == before
        assert row.qty == srow.qty == 3

    run(async_url, body)


def test_incr_of_a_deleted_row_raises_key_error_as_the_sync_incr(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        row = await AStock.create(code="a", label="pen", qty=3)
        srow = SStock.load("a")
        SStock.load("a").delete()
        for field in ("sold", "qty"):
            with RoundTripCounter() as rt, pytest.raises(KeyError, match="does not exist"):
                await row.incr(field)
            with RoundTripCounter() as sync_rt, pytest.raises(KeyError, match="does not exist"):
                srow.incr(field)
            assert rt.count == sync_rt.count == 1
        assert stored(sync) == {}

    run(async_url, body)


# -- check_indexes / rebuild_indexes -------------------------------------------------------


def _damage(sync: Database, model: Any) -> None:
    """The same damage each time: a missing entry, an orphan, a wrong score, an unlisted
    row and a dangling one."""
    a_key = model._make_key("id", "a")
    sync.srem(model._make_key("label", "absolute", "pen"), a_key)
    sync.sadd(model._make_key("label", "absolute", "ghost"), model._make_key("id", "zz"))
    sync.zadd(model._make_key("qty", "continuous"), {model._make_key("id", "b"): 99})
    sync.srem(model._make_key("all"), model._make_key("id", "c"))
    sync.sadd(model._make_key("all"), model._make_key("id", "gone"))


async def _fill(model: Any) -> None:
    for code, label, qty in (("a", "pen", 1), ("b", "ink", 2), ("c", "pad", 3)):
        await model.create(code=code, label=label, qty=qty, note=f"{label} for sale")


def test_check_indexes_matches_the_sync_check_with_equal_round_trips(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        await _fill(AStock)
        assert await AStock.check_indexes() == [] == SStock.check_indexes()
        _damage(sync, SStock)
        with RoundTripCounter() as sync_rt:
            sync_found = SStock.check_indexes()
        with RoundTripCounter() as async_rt:
            async_found = await AStock.check_indexes()
        assert async_found == sync_found
        assert sorted(p.kind for p in async_found) == [
            "dangling-row",
            "missing",
            "orphan",
            "unlisted-row",
            "wrong-score",
        ]
        assert async_rt.count == sync_rt.count >= 4

    run(async_url, body)


def test_rebuild_indexes_repairs_as_the_sync_rebuild_in_both_directions(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        await _fill(AStock)
        clean = stored(sync)
        _damage(sync, SStock)
        with RoundTripCounter() as async_rt:
            async_repaired = await AStock.rebuild_indexes()
        assert SStock.check_indexes() == []
        assert stored(sync) == clean
        _damage(sync, SStock)
        with RoundTripCounter() as sync_rt:
            sync_repaired = SStock.rebuild_indexes()
        assert await AStock.check_indexes() == []
        assert stored(sync) == clean
        assert async_repaired == sync_repaired
        assert len(async_repaired) == 5
        assert async_rt.count == sync_rt.count
        # nothing to repair: the reads only, no script call
        with RoundTripCounter() as async_rt:
            assert await AStock.rebuild_indexes() == []
        with RoundTripCounter() as sync_rt:
            assert SStock.rebuild_indexes() == []
        assert async_rt.count == sync_rt.count

    run(async_url, body)


def test_rebuild_of_many_rows_reads_and_repairs_in_the_same_batches(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> tuple[int, int]:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        pipe = sync.pipeline(transaction=False)
        for i in range(600):
            SStock.create(code=f"r{i:04}", label=f"l{i % 7}", qty=i, pipeline=pipe)
        pipe.execute()
        for i in range(0, 600, 2):  # 300 missing entries: two repair scripts
            sync.zrem(SStock._make_key("qty", "continuous"), SStock._make_key("id", f"r{i:04}"))
        with RoundTripCounter() as async_rt:
            repaired = await AStock.rebuild_indexes()
        assert len(repaired) == 300
        assert SStock.check_indexes() == []
        for i in range(0, 600, 2):
            sync.zrem(SStock._make_key("qty", "continuous"), SStock._make_key("id", f"r{i:04}"))
        with RoundTripCounter() as sync_rt:
            assert SStock.rebuild_indexes() == repaired
        return async_rt.count, sync_rt.count

    async_count, sync_count = run(async_url, body)
    assert async_count == sync_count


def test_index_tools_without_a_database_raise_before_anything_is_sent(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock = declare(AsyncModel, None)
        with RoundTripCounter() as rt:
            for call in (AStock.check_indexes, AStock.rebuild_indexes):
                with pytest.raises(Exception, match="__database__ is not set"):
                    await call()
        assert rt.count == 0

    run(async_url, body)


# -- explain ---------------------------------------------------------------------------------


def test_explain_gives_the_sync_plan_in_one_round_trip(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        await _fill(AStock)
        SStock.create(code="d", label="pen", qty=9, note="another pen")
        queries = [
            (AStock.query(), SStock.query()),
            (AStock.query(AStock.label == "pen"), SStock.query(SStock.label == "pen")),
            (
                AStock.query((AStock.qty > 1) & (AStock.label == "pen"), order_by=AStock.qty),
                SStock.query((SStock.qty > 1) & (SStock.label == "pen"), order_by=SStock.qty),
            ),
            (
                AStock.query(AStock.note.search("pen"))[1:3],
                SStock.query(SStock.note.search("pen"))[1:3],
            ),
            (
                AStock.query(AStock.label.startswith("p") | (AStock.qty <= 2)),
                SStock.query(SStock.label.startswith("p") | (SStock.qty <= 2)),
            ),
        ]
        for aquery, squery in queries:
            with RoundTripCounter() as async_rt:
                async_plan = await aquery.explain()
            with RoundTripCounter() as sync_rt:
                sync_plan = squery.explain()
            assert async_plan == sync_plan
            assert async_rt.count == sync_rt.count == 1
            assert async_plan[-1]["step"] == "total"
        rows = [s async for s in AStock.query(AStock.label == "pen")]
        assert (await AStock.query(AStock.label == "pen").explain())[-1]["rows"] == len(rows)

    run(async_url, body)


def test_explain_refuses_a_bad_query_before_anything_is_sent(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AStock, SStock = declare(AsyncModel, db), declare(Model, sync)
        with RoundTripCounter() as rt:
            with pytest.raises(FilterError, match="price"):
                await AStock.query(AStock.price > 1).explain()
            with pytest.raises(FilterError, match="price"):
                SStock.query(SStock.price > 1).explain()
        assert rt.count == 0

    run(async_url, body)
