"""Relations on AsyncModel rows: ``await note.author`` (the foreign key's row),
``note.author_id`` (no round trip), reverse accessors as ``AsyncModelQuery`` and
many-to-many fields as ``AsyncRelatedSet``, checked against the sync relations on the same
data (written by either side), with equal round trips."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support.asyncio_clients import run_with_clients as run
from walrus import Database, ForeignKeyField, IntegerField, ManyToManyField, Model, TextField
from walrus.asyncio import AsyncDatabase, AsyncModel, AsyncModelQuery
from walrus.asyncio.models import AsyncRelatedSet, PendingRelation
from walrus.models import FieldTypeError, MissingReferenceError, RelatedSet
from walrus.roundtrips import RoundTripCounter


def declare(base: type[Model], database: Any) -> tuple[Any, Any, Any]:
    """Author <- Note (foreign key, reverse ``notes``) and Note <-> Tag (many-to-many,
    reverse ``tagged``), on ``base``: the same keys for Model and AsyncModel."""

    class Author(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "related"  # one slot for the models of a relation on a cluster
        code = IntegerField(primary_key=True)
        name = TextField()

    class Tag(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "related"
        label = TextField(primary_key=True)

    class Note(base):  # type: ignore[valid-type,misc]
        __database__ = database
        __cluster_tag__ = "related"
        author = ForeignKeyField(Author, on_delete="cascade", related_name="notes")
        text = TextField()
        tags = ManyToManyField(Tag, related_name="tagged")

    return Author, Note, Tag


def data(rows: list[Any]) -> list[dict[str, Any]]:
    return [dict(row._data) for row in rows]


# -- foreign keys ----------------------------------------------------------------------------


def test_awaiting_a_foreign_key_gives_the_sync_row_in_both_directions(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AAuthor, ANote, _ = declare(AsyncModel, db)
        SAuthor, SNote, _ = declare(Model, sync)
        await AAuthor.create(code=1, name="ann")
        SAuthor.create(code=2, name="bob")
        a_note = await ANote.create(author=2, text="by bob, written async")
        s_note = SNote.create(author=1, text="by ann, written sync")
        # rows written by the other side
        read_a = await ANote.load(s_note._id)
        read_s = SNote.load(a_note._id)
        assert isinstance(read_a.author, PendingRelation)
        assert read_a.author_id == 1 and read_s.author_id == 2
        ann = await read_a.author
        assert isinstance(ann, AAuthor)
        assert ann._data == SNote.load(s_note._id).author._data == {"code": 1, "name": "ann"}
        assert (await (await ANote.load(a_note._id)).author)._data == read_s.author._data
        # an assigned row is cached, as on the sync model
        fresh = ANote(text="t")
        fresh.author = ann
        sfresh = SNote(text="t")
        sann = sfresh.author = SAuthor.load(1)
        with RoundTripCounter() as rt:
            assert await fresh.author is ann
            assert sfresh.author is sann
        assert rt.count == 0

    run(async_url, body)


def test_foreign_key_reads_cost_what_the_sync_reads_cost(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[tuple[int, int]]:
        AAuthor, ANote, _ = declare(AsyncModel, db)
        SAuthor, SNote, _ = declare(Model, sync)
        SAuthor.create(code=1, name="ann")
        SNote.create(author=1, text="x")
        SNote.create(author=None, text="no author")
        snote, anote = SNote.load(1), await ANote.load(1)
        sempty, aempty = SNote.load(2), await ANote.load(2)
        author = SAuthor.load(1)
        aauthor = await AAuthor.load(1)
        calls: list[tuple[Callable[[], Any], Callable[[], Awaitable[Any]]]] = [
            (lambda: snote.author, lambda: _awaited(anote.author)),  # loads: 1
            (lambda: snote.author, lambda: _awaited(anote.author)),  # cached: 0
            (lambda: sempty.author, lambda: _awaited(aempty.author)),  # empty: 0
            (lambda: snote.author_id, lambda: _awaited(_ready(anote.author_id))),
            (lambda: list(author.notes), lambda: _collect(aauthor.notes)),
            (lambda: author.notes.count(), lambda: aauthor.notes.count()),
        ]
        counts = []
        for sync_call, async_call in calls:
            with RoundTripCounter() as sync_rt:
                sync_result = sync_call()
            with RoundTripCounter() as async_rt:
                async_result = await async_call()
            assert _plain(sync_result) == _plain(async_result)
            counts.append((sync_rt.count, async_rt.count))
        return counts

    assert run(async_url, body) == [(1, 1), (0, 0), (0, 0), (0, 0), (1, 1), (1, 1)]


async def _awaited(value: Awaitable[Any]) -> Any:
    return await value


async def _ready(value: Any) -> Any:
    return value


async def _collect(query: Any) -> list[Any]:
    return [row async for row in query]


def _plain(value: Any) -> Any:
    """Rows as their data, for comparing a sync and an async model's results."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Model):
        return dict(value._data)
    return value


def test_foreign_key_to_a_vanished_row_raises_as_the_sync_read(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AAuthor, ANote, _ = declare(AsyncModel, db)
        SAuthor, SNote, _ = declare(Model, sync)
        await AAuthor.create(code=1, name="ann")
        await ANote.create(author=1, text="x")
        sync.delete(SAuthor._row_key(1))  # behind the model's back
        note, snote = await ANote.load(1), SNote.load(1)
        with pytest.raises(
            MissingReferenceError, match="Note.author: no Author with primary key 1"
        ):
            await note.author
        with pytest.raises(
            MissingReferenceError, match="Note.author: no Author with primary key 1"
        ):
            snote.author  # noqa: B018 - the read is the test

    run(async_url, body)


def test_using_a_pending_foreign_key_as_a_row_raises_type_error(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AAuthor, ANote, _ = declare(AsyncModel, db)
        await AAuthor.create(code=1, name="ann")
        note = await ANote.create(author=1, text="x")
        pending = note.author
        with RoundTripCounter() as rt:
            with pytest.raises(TypeError, match=r"await note\.author"):
                pending.name  # noqa: B018
            with pytest.raises(TypeError, match=r"await note\.author"):
                bool(pending)
            with pytest.raises(TypeError, match=r"await note\.author"):
                pending == 1  # noqa: B015
            with pytest.raises(TypeError):
                hash(pending)
        assert rt.count == 0
        assert not hasattr(pending, "__wrapped__")  # dunder probes stay AttributeErrors
        # the id stays a plain value, and assigning works without Redis
        assert note.author_id == 1
        note.author_id = 2
        assert note.author_id == 2 and note._data["author"] == 2
        with pytest.raises(FieldTypeError, match="author"):
            note.author = "not a key"
        assert (await (await ANote.load(1)).author).name == "ann"

    run(async_url, body)


def test_reverse_accessor_is_an_async_query_matching_the_sync_one(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AAuthor, ANote, _ = declare(AsyncModel, db)
        SAuthor, SNote, _ = declare(Model, sync)
        await AAuthor.create(code=1, name="ann")
        SNote.create(author=1, text="s1")
        await ANote.create(author=1, text="a1")
        SNote.create(author=1, text="s2")
        ann = await AAuthor.load(1)
        notes = ann.notes
        assert isinstance(notes, AsyncModelQuery)
        async_texts = [n.text async for n in notes]
        assert async_texts == [n.text for n in SAuthor.load(1).notes] == ["s1", "a1", "s2"]
        assert await ann.notes.count() == 3
        assert [n.text for n in await ann.notes[1:2].execute()] == ["a1"]
        with pytest.raises(TypeError, match="async for"):
            iter(ann.notes)
        with pytest.raises(ValueError, match="save it first"):
            AAuthor(name="unsaved").notes  # noqa: B018

    run(async_url, body)


# -- many-to-many ---------------------------------------------------------------------------


def test_many_to_many_sets_give_what_the_sync_sets_give(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AAuthor, ANote, ATag = declare(AsyncModel, db)
        SAuthor, SNote, STag = declare(Model, sync)
        await AAuthor.create(code=1, name="ann")
        for label in ("red", "green", "blue"):
            await ATag.create(label=label)
        anote = await ANote.create(author=1, text="x")
        snote = SNote.create(author=1, text="y")
        tags = anote.tags
        assert isinstance(tags, AsyncRelatedSet) and isinstance(snote.tags, RelatedSet)
        red = await ATag.load("red")
        # async writes, sync reads
        assert await tags.add(red, "green") == 2
        assert await tags.add("green") == 0
        assert SNote.load(anote._id).tags.keys() == await tags.keys()
        assert await tags.keys() == [ATag._row_key("green"), ATag._row_key("red")]
        assert [n.text for n in STag.load("red").tagged] == ["x"]
        # sync writes, async reads
        assert snote.tags.add("red", "blue") == 2
        other = await ANote.load(snote._id)
        assert data(await other.tags.all()) == data(snote.tags.all())
        assert [t.label async for t in other.tags] == ["blue", "red"]
        assert await other.tags.count() == snote.tags.count() == 2
        assert await other.tags.contains("blue") is True
        assert await other.tags.contains(red) is ("red" in snote.tags) is True
        assert await other.tags.contains("green") is False
        # the reverse side
        assert data(await red.tagged.all()) == data(STag.load("red").tagged.all())
        assert sorted(n.text for n in await red.tagged.all()) == ["x", "y"]
        # remove and clear, then the other side sees it
        assert await other.tags.remove("red", "green") == 1
        assert snote.tags.keys() == [ATag._row_key("blue")]
        assert await tags.clear() == 2
        assert SNote.load(anote._id).tags.keys() == []
        assert [n.text for n in STag.load("red").tagged] == []
        assert await tags.all() == []

    run(async_url, body)


def test_many_to_many_round_trips_equal_the_sync_calls(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[tuple[int, int]]:
        AAuthor, ANote, ATag = declare(AsyncModel, db)
        SAuthor, SNote, STag = declare(Model, sync)
        SAuthor.create(code=1, name="ann")
        for label in ("a", "b", "c", "d"):
            STag.create(label=label)
        snote = SNote.create(author=1, text="s")
        anote = await ANote.create(author=1, text="a")
        stags, atags = snote.tags, anote.tags
        calls: list[tuple[Callable[[], Any], Callable[[], Awaitable[Any]]]] = [
            (lambda: stags.add("a", "b", "c"), lambda: atags.add("a", "b", "c")),
            (lambda: stags.add(), lambda: atags.add()),
            (lambda: stags.remove("c"), lambda: atags.remove("c")),
            (lambda: stags.keys(), lambda: atags.keys()),
            (lambda: stags.all(), lambda: atags.all()),
            (lambda: stags.count(), lambda: atags.count()),
            (lambda: "a" in stags, lambda: atags.contains("a")),
            (lambda: STag.load("a").tagged.all(), lambda: _reverse_all(ATag, "a")),
            (lambda: stags.clear(), lambda: atags.clear()),
            (lambda: stags.clear(), lambda: atags.clear()),
            (lambda: stags.all(), lambda: atags.all()),
        ]
        counts = []
        for sync_call, async_call in calls:
            with RoundTripCounter() as sync_rt:
                sync_result = sync_call()
            with RoundTripCounter() as async_rt:
                async_result = await async_call()
            assert _shape(sync_result) == _shape(async_result)
            counts.append((sync_rt.count, async_rt.count))
        return counts

    assert run(async_url, body) == [
        (1, 1),
        (0, 0),
        (1, 1),
        (1, 1),
        (2, 2),
        (1, 1),
        (1, 1),
        (3, 3),
        (2, 2),
        (1, 1),
        (1, 1),
    ]


async def _reverse_all(model: Any, label: str) -> Any:
    return await (await model.load(label)).tagged.all()


def _shape(value: Any) -> Any:
    """Results comparable across the two notes: rows as their labels or texts."""
    if isinstance(value, list):
        return [getattr(v, "label", getattr(v, "text", v)) for v in value]
    return value


def test_many_to_many_bad_input_raises_before_anything_is_sent(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AAuthor, ANote, ATag = declare(AsyncModel, db)
        SAuthor, SNote, STag = declare(Model, sync)
        await AAuthor.create(code=1, name="ann")
        note = await ANote.create(author=1, text="x")
        await ATag.create(label="red")
        snote = SNote.load(note._id)
        author = await AAuthor.load(1)
        with RoundTripCounter() as rt:
            tags, stags = note.tags, snote.tags
            with pytest.raises(FieldTypeError, match="takes Tag rows"):
                await tags.add(author)
            with pytest.raises(FieldTypeError, match="takes Tag rows"):
                stags.add(SAuthor(code=1, name="ann"))
            with pytest.raises(FieldTypeError, match="takes Tag rows"):
                await tags.contains(author)
            with pytest.raises(FieldTypeError, match="label"):
                await tags.remove(3.5)
            with pytest.raises(FieldTypeError, match="label"):
                stags.remove(3.5)
            with pytest.raises(FieldTypeError, match="label"):
                await tags.add("red", 7)
            with pytest.raises(ValueError, match="save it first"):
                ANote(author=1, text="unsaved").tags  # noqa: B018
        assert rt.count == 0
        # a missing row is refused by the script: nothing is linked
        with RoundTripCounter() as rt:
            with pytest.raises(MissingReferenceError, match="does not exist"):
                await note.tags.add("red", "nope")
        assert rt.count == 1
        assert snote.tags.keys() == [] and STag.load("red").tagged.keys() == []

    run(async_url, body)


def test_sync_only_uses_of_an_async_related_set_raise_type_error(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        AAuthor, ANote, ATag = declare(AsyncModel, db)
        await AAuthor.create(code=1, name="ann")
        note = await ANote.create(author=1, text="x")
        red = await ATag.create(label="red")
        await note.tags.add(red)
        with RoundTripCounter() as rt:
            with pytest.raises(TypeError, match="async for"):
                iter(note.tags)
            with pytest.raises(TypeError, match=r"await \.count\(\)"):
                len(note.tags)
            with pytest.raises(TypeError, match=r"await \.contains\(row\)"):
                red in note.tags  # noqa: B015
            with pytest.raises(TypeError, match="asyncio"):
                len(red.tagged)
        assert rt.count == 0

    run(async_url, body)
