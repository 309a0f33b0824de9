"""AsyncModel on an AsyncDatabase: the sync models' steps, awaited.

Every test declares the same model twice, on ``Model`` over a sync ``Database`` and on
``AsyncModel`` over an ``AsyncDatabase`` of the same URL (same name, namespace and fields:
the same keys), writes with one and reads with the other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support.asyncio_clients import run_with_clients as run
from tests.support.stored import stored
from walrus import Database, FloatField, ForeignKeyField, IntegerField, Model, TextField
from walrus.asyncio import AsyncDatabase, AsyncModel, AsyncModelQuery
from walrus.models import MissingReferenceError, UniqueError
from walrus.models.errors import FilterError
from walrus.models.executor import PAGE_ROWS
from walrus.roundtrips import RoundTripCounter


def declare(base: type[Model], database: Any) -> Any:
    """The test model on ``base`` (Model or AsyncModel): the same keys for both."""

    class Person(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __namespace__ = "app"
        name = TextField(index=True)
        email = TextField(unique=True)
        age = IntegerField(index=True)
        score = FloatField(default=0.0)
        bio = TextField(fts=True)

    return Person


def declare_pair(base: type[Model], database: Any) -> tuple[Any, Any]:
    """An author model and a note model referring to it (cascade delete)."""

    class Author(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "notes"  # related rows share a slot on a cluster (no change elsewhere)
        code = IntegerField(primary_key=True)
        name = TextField()

    class Note(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "notes"
        author = ForeignKeyField(Author, on_delete="cascade", related_name="notes")
        text = TextField()

    return Author, Note


PEOPLE = [
    ("ada", "ada@x", 36, 1.5, "counts engines and numbers"),
    ("bob", "bob@x", 25, 2.0, "builds engines"),
    ("cyd", "cyd@x", 41, 0.5, "writes poems"),
    ("dee", "dee@x", 25, 3.0, "numbers and poems"),
    ("eve", "eve@x", 30, 1.0, None),
]


def test_rows_written_by_either_model_read_back_in_the_other(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        APerson, SPerson = declare(AsyncModel, db), declare(Model, sync)
        ada = await APerson.create(name="ada", email="ada@x", age=36, score=1.5, bio="x y")
        assert isinstance(ada, APerson) and ada.get_id() == 1
        row = SPerson.load(1)
        assert row._data == ada._data
        bob = SPerson.create(name="bob", email="bob@x", age=25)
        loaded = await APerson.load(bob.get_id())
        assert isinstance(loaded, APerson) and loaded._data == bob._data
        assert (await APerson.load("2"))._data == bob._data  # converted, as Model.load
        assert (await APerson.load(bob.get_hash_id(), convert_key=False))._data == bob._data
        assert await APerson.count() == 2 == SPerson.count()
        assert (await APerson.get(APerson.email == "bob@x"))._data == bob._data
        # save: an update moves the index entries, as the sync save does
        loaded.age = 26
        loaded.name = "rob"
        await loaded.save()
        assert [p.get_id() for p in SPerson.query(SPerson.age == 26)] == [2]
        assert list(SPerson.query(SPerson.age == 25)) == []
        assert SPerson.load(2).name == "rob"
        # a row changed by the sync side since it was saved: the guarded write is refused,
        # then retried with the stored state the script reported (2 round trips)
        row.age = 50
        row.save()
        ada.name = "ada2"
        with RoundTripCounter() as rt:
            await ada.save()
        assert rt.count == 2
        assert SPerson.load(1)._data == ada._data and ada.age == 36
        assert [p.get_id() for p in SPerson.query(SPerson.age == 36)] == [1]
        assert list(SPerson.query(SPerson.age == 50)) == []
        # delete: the row and every index entry
        await loaded.delete()
        with pytest.raises(KeyError):
            SPerson.load(2)
        assert await APerson.count() == 1
        SPerson.load(1).delete()
        with pytest.raises(KeyError):
            await APerson.load(1)
        assert SPerson.check_indexes() == []
        tag = b"{app|person}" if sync.is_cluster else b"app|person"  # one slot per model
        assert sync.keys("*") == [tag + b":_id._sequence"]

    run(async_url, body)


def test_queries_match_the_sync_queries(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        APerson, SPerson = declare(AsyncModel, db), declare(Model, sync)
        for name, email, age, score, bio in PEOPLE:
            await APerson.create(name=name, email=email, age=age, score=score, bio=bio)
        cases = [
            (None, None),
            (APerson.age == 25, None),
            ((APerson.age >= 30) | (APerson.name == "bob"), APerson.age.desc()),
            (APerson.age.between(25, 36), "name"),
            (APerson.name.startswith("d") | (APerson.age < 26), "-age"),
            (APerson.name.in_(["ada", "eve", "zed"]), APerson.name),
            (APerson.age != 25, None),
            (APerson.bio.match("engines"), None),
            (APerson.bio.match("numbers poems"), None),
            (APerson.bio.match('"builds engines"'), None),
            (APerson.bio.match('"engines builds"'), None),
        ]
        for expression, order in cases:
            sync_expression = None if expression is None else _on(SPerson, expression)
            sync_order = _on(SPerson, order)
            expected = [p.get_id() for p in SPerson.query(sync_expression, order_by=sync_order)]
            query = APerson.query(expression, order_by=order)
            assert isinstance(query, AsyncModelQuery)
            assert [p.get_id() async for p in query] == expected, expression
            assert await query.count() == len(expected)
            assert await query.exists() is bool(expected)
            for limit in (0, 1, 2):
                limited = APerson.query(expression, order_by=order, limit=limit)
                assert [p.get_id() async for p in limited] == expected[:limit]
                assert await limited.count() == len(expected[:limit])
            assert [p.get_id() for p in await query[1:3].execute()] == expected[1:3]
            first = await query.first()
            assert (first and first.get_id()) == (expected[0] if expected else None)
        ages = APerson.query(APerson.age == 25, order_by="name")
        assert await ages.values("name", APerson.age) == [
            {"name": "bob", "age": 25},
            {"name": "dee", "age": 25},
        ]
        assert await ages.values_list("name", flat=True) == ["bob", "dee"]
        assert await ages.values_list(APerson.name, "score") == [("bob", 2.0), ("dee", 3.0)]
        assert [p.name async for p in APerson.all()] == ["ada", "bob", "cyd", "dee", "eve"]
        assert [p.name async for p in APerson.query().filter(APerson.age > 30)] == ["ada", "cyd"]

    run(async_url, body)


def _on(model: Any, node: Any) -> Any:
    """``node`` (an expression, an order or a field of an AsyncModel) on the sync ``model``."""
    from walrus.models.expressions import Desc, Expression
    from walrus.models.fields import Field

    if isinstance(node, Expression):
        return Expression(_on(model, node.lhs), node.op, _on(model, node.rhs))
    if isinstance(node, Desc):
        return _on(model, node.node).desc()
    if isinstance(node, Field):
        return model._fields[node.name]
    return node


def test_query_delete_and_pages_of_rows(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> tuple[int, int]:
        APerson, SPerson = declare(AsyncModel, db), declare(Model, sync)
        for n in range(PAGE_ROWS + 20):
            SPerson.create(name=f"n{n:04d}", email=f"{n}@x", age=n % 7)
        with RoundTripCounter() as sync_rt:
            expected = [p._data for p in SPerson.query()]
        with RoundTripCounter() as async_rt:
            rows = [p._data async for p in APerson.query()]
        assert rows == expected and len(rows) == PAGE_ROWS + 20
        aged = [len([r for r in expected if r["age"] == n]) for n in range(7)]
        assert await APerson.query_delete(APerson.age == 3) == aged[3]
        assert SPerson.query(SPerson.age == 3).count() == 0
        assert await APerson.query(APerson.age < 2).delete() == aged[0] + aged[1]
        assert SPerson.count() == sum(aged[2:]) - aged[3]
        assert sorted({p.age for p in SPerson.query()}) == [2, 4, 5, 6]
        assert SPerson.check_indexes() == []
        return sync_rt.count, async_rt.count

    assert run(async_url, body) == (2, 2)


def test_unordered_queries_match_the_sync_ones(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        APerson, SPerson = declare(AsyncModel, db), declare(Model, sync)
        for n in range(PAGE_ROWS + 20):
            SPerson.create(name=f"n{n:04d}", email=f"{n}@x", age=n % 7)
        expected = [p.get_id() for p in SPerson.query(SPerson.age >= 0).unordered()]
        got = [p.get_id() async for p in APerson.query(APerson.age >= 0).unordered()]
        assert got == expected and len(set(got)) == PAGE_ROWS + 20
        assert got != sorted(got)  # age order (the range index), not the primary key's

    run(async_url, body)


def test_bad_input_raises_as_the_sync_model_and_writes_nothing(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        APerson, SPerson = declare(AsyncModel, db), declare(Model, sync)
        await APerson.create(name="ada", email="ada@x", age=36)
        before = stored(sync)

        async def refused(
            call: Callable[[], Awaitable[Any]], sync_call: Callable[[], Any], sent: int = 0
        ) -> None:
            """The async call raises the sync call's error after ``sent`` round trips."""
            with pytest.raises(Exception) as sync_error:
                sync_call()
            with RoundTripCounter() as rt:
                with pytest.raises(type(sync_error.value)) as async_error:
                    await call()
            assert str(async_error.value) == str(sync_error.value)
            assert rt.count == sent
            assert stored(sync) == before

        await refused(
            lambda: APerson.create(name="x", email="x@x", age="old"),
            lambda: SPerson.create(name="x", email="x@x", age="old"),
        )
        await refused(
            lambda: APerson.create(name="x", email="x@x", nickname="z"),
            lambda: SPerson.create(name="x", email="x@x", nickname="z"),
        )
        await refused(  # refused by the write script: one round trip, nothing written
            lambda: APerson.create(name="x", email="ada@x", age=1),
            lambda: SPerson.create(name="x", email="ada@x", age=1),
            sent=1,
        )
        await refused(lambda: APerson.load(99), lambda: SPerson.load(99), sent=1)
        await refused(lambda: APerson.load("one"), lambda: SPerson.load("one"))
        await refused(
            lambda: APerson.get(APerson.age == 1), lambda: SPerson.get(SPerson.age == 1), sent=1
        )
        await refused(
            lambda: APerson.query(APerson.score > 1).count(),
            lambda: SPerson.query(SPerson.score > 1).count(),
        )
        await refused(
            lambda: APerson.query("age = 1").count(), lambda: SPerson.query("age = 1").count()
        )
        await refused(lambda: APerson().delete(), lambda: SPerson().delete())
        with pytest.raises(UniqueError):
            await APerson.create(name="y", email="ada@x", age=2)
        with pytest.raises(FilterError):
            await APerson.query(APerson.score < 2).count()
        with pytest.raises(ValueError):
            APerson.query(limit=-1)
        with pytest.raises(TypeError):
            APerson.query(limit="2")
        assert stored(sync) == before
        assert await APerson.count() == 1

    run(async_url, body)


def test_unique_and_references_are_checked_as_in_the_sync_model(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        APerson = declare(AsyncModel, db)
        Author, Note = declare_pair(AsyncModel, db)
        SAuthor, SNote = declare_pair(Model, sync)
        await APerson.create(name="ada", email="a@x", age=1)
        dup = APerson(name="bob", email="a@x", age=2)
        with pytest.raises(UniqueError) as info:
            await dup.save()
        assert info.value.field == "email" and dup.get_id() is None
        await APerson.create(name="bob", email="b@x", age=2)
        before = stored(sync)
        with pytest.raises(MissingReferenceError):
            await Note.create(author=7, text="orphan")
        assert stored(sync) == before
        ada = await Author.create(code=7, name="ada")
        note = await Note.create(author=ada, text="first")
        SNote.create(author=7, text="second")
        assert [n.text for n in SNote.query(SNote.author == 7)] == ["first", "second"]
        assert note.author_id == 7
        await ada.delete()  # cascades to both notes: one planned read, one script
        assert SNote.count() == 0 and SAuthor.count() == 0
        assert SNote.check_indexes() == [] and SAuthor.check_indexes() == []

    run(async_url, body)


def test_round_trips_equal_the_sync_calls(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[tuple[int, int]]:
        APerson, SPerson = declare(AsyncModel, db), declare(Model, sync)
        Author, Note = declare_pair(AsyncModel, db)
        SAuthor, SNote = declare_pair(Model, sync)
        # each pair: the sync call, then the same call of the async model
        calls: list[tuple[Callable[[], Any], Callable[[], Awaitable[Any]]]] = [
            (
                lambda: SPerson.create(name="a", email="a@x", age=1),
                lambda: APerson.create(name="b", email="b@x", age=2),
            ),
            (lambda: SPerson.load(1), lambda: APerson.load(2)),
            (lambda: SPerson.get(SPerson.age == 1), lambda: APerson.get(APerson.age == 2)),
            (lambda: SPerson.count(), lambda: APerson.count()),
            (
                lambda: list(SPerson.query(SPerson.age > 0, order_by="name")),
                lambda: _collect(APerson.query(APerson.age > 0, order_by="name")),
            ),
            (lambda: SPerson.query().count(), lambda: APerson.query().count()),
            (lambda: _saved(SPerson.load(1)), lambda: _asaved(APerson.load(2))),
            (
                lambda: SPerson(name="c", email="c@x", age=3).save(),
                lambda: APerson(name="d", email="d@x", age=4).save(),
            ),
            (lambda: SPerson.load(3).delete(), lambda: _adelete(APerson.load(4))),
            (
                lambda: SAuthor.create(code=1, name="x"),
                lambda: Author.create(code=2, name="y"),
            ),
            (
                lambda: SNote.create(author=1, text="n"),
                lambda: Note.create(author=2, text="m"),
            ),
            (lambda: SAuthor.load(1).delete(), lambda: _adelete(Author.load(2))),
        ]
        counts = []
        for sync_call, async_call in calls:
            with RoundTripCounter() as sync_rt:
                sync_call()
            with RoundTripCounter() as async_rt:
                await async_call()
            counts.append((sync_rt.count, async_rt.count))
        return counts

    counts = run(async_url, body)
    assert all(s == a for s, a in counts), counts
    assert [s for s, _a in counts[:6]] == [1, 1, 1, 1, 1, 1]


async def _collect(query: AsyncModelQuery) -> list[Any]:
    return [row async for row in query]


def _saved(row: Model) -> None:
    row.name = "changed"
    row.save()


async def _asaved(loading: Awaitable[Any]) -> None:
    row = await loading
    row.name = "changed"
    await row.save()


async def _adelete(loading: Awaitable[Any]) -> None:
    await (await loading).delete()


def test_sync_only_operations_raise_type_error(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        APerson = declare(AsyncModel, db)
        ada = await APerson.create(name="ada", email="a@x", age=1)
        query = APerson.query()
        with RoundTripCounter() as rt:
            for operation in (len, bool, iter, lambda q: q[0]):
                with pytest.raises(TypeError, match="asyncio"):
                    operation(query)
        assert rt.count == 0
        # once sync only, now awaitable (tests/asyncio/test_models_maintenance.py)
        assert (await query.explain())[-1] == {"step": "total", "rows": 1, "cost": 3}
        assert await ada.incr("age") == 2
        assert await APerson.check_indexes() == []
        assert await APerson.rebuild_indexes() == []
        assert sync.hgetall(ada.get_hash_id())[b"age"] == b"2"

    run(async_url, body)
