"""walrus.fts.Index on an AsyncDatabase: the sync index's code, awaited. Each result is
checked against a sync Index on the same data, bad input writes nothing, the operators
that cannot be awaited say so, and a call costs the sync call's round trips."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.fts import Index, QueryError
from walrus.roundtrips import RoundTripCounter
from walrus.search.plan import run_token_query


def dump(url: str) -> dict[bytes, Any]:
    """Every key with its value, read by a sync client: what a refused call must not change."""
    db = Database.from_url(url)
    out: dict[bytes, Any] = {}
    for key in sorted(db.scan_iter()):
        kind = db.type(key)
        if kind == b"hash":
            out[key] = db.hgetall(key)
        elif kind == b"set":
            out[key] = db.smembers(key)
        elif kind == b"zset":
            out[key] = [(m, float(s)) for m, s in db.zrange(key, 0, -1, withscores=True)]
        else:
            out[key] = kind
    db.close()
    return out


QUERIES = ["walrus", "python AND (redis OR walrus)", '"python redis" OR tusk', "", "the"]


def read_all(index: Index) -> list[Any]:
    """What a sync Index reads: documents, membership, every search form."""
    got: list[Any] = [index.get_document(d) for d in ("1", "2", "3", "missing")]
    got.append([d in index for d in ("1", "2", "3", 4)])
    got.append(len(index))
    for query in QUERIES:
        got.extend((index.search(query), index.search_items(query), index.search_scores(query)))
    return got


async def aread_all(index: Index) -> list[Any]:
    """``read_all`` on an Index of an AsyncDatabase."""
    got: list[Any] = [await index.get_document(d) for d in ("1", "2", "3", "missing")]
    got.append([await index.contains(d) for d in ("1", "2", "3", 4)])
    got.append(await index.length())
    for query in QUERIES:
        got.extend(
            (
                await index.search(query),
                await index.search_items(query),
                await index.search_scores(query),
            )
        )
    return got


def test_async_writes_read_by_sync_and_back(async_url: str) -> None:
    async def main() -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        db = AsyncDatabase.from_url(async_url)
        index = Index(db, "app")  # db.Index() still builds a sync-only index
        assert await index.add("1", "python redis", {"author": "huey"}, year=2024) is None
        await index.add(2, "python walrus walrus tusk")
        await index.add(b"3", "redis walrus", n=1.5)
        await index.update("3", "python redis tusk", n=2)  # metadata merged
        await index.replace(2, "python redis walrus")  # metadata dropped
        await index.add("4", "walrus")
        await index.remove("4")
        sync = Database.from_url(async_url)
        mirror = Index(sync, "app")
        written_async = (await aread_all(index), read_all(mirror))
        # Now the sync client writes and the asyncio one reads.
        mirror.update("1", "tusk walrus", author="charlie")
        mirror.replace("2", "python")
        mirror.add("3", "redis redis python")
        mirror.remove("2", preserve_data=True)
        written_sync = (await aread_all(index), read_all(mirror))
        sync.close()
        await db.aclose()
        return (*written_async, *written_sync)

    async_read, sync_read, async_read2, sync_read2 = asyncio.run(main())
    assert async_read == sync_read and async_read2 == sync_read2
    assert async_read[:4] == [
        {"content": "python redis", "author": "huey", "year": "2024"},
        {"content": "python redis walrus"},
        {"content": "python redis tusk", "n": "2"},
        {},
    ]
    assert async_read[4] == [True, True, True, False] and async_read[5] == 3
    # "python AND (redis OR walrus)": term frequencies count / (words + 1), summed.
    assert [doc_id for doc_id, _ in async_read[10]] == ["2", "1", "3"]
    assert async_read[11] == [("2", 0.75), ("1", pytest.approx(2 / 3)), ("3", 0.5)]
    assert [doc_id for doc_id, _ in async_read[13]] == ["3", "1", "2"]  # phrase OR tusk
    assert async_read[-3:] == [[], [], []]  # only a stopword
    assert async_read2[:4] == [
        {"content": "tusk walrus", "author": "charlie", "year": "2024"},
        {"content": "python"},  # unindexed, data kept
        {"content": "redis redis python", "n": "2"},
        {},
    ]
    assert async_read2[4] == [True, False, True, False] and async_read2[5] == 2
    assert async_read2[6] == [{"content": "tusk walrus", "author": "charlie", "year": "2024"}]


def test_bad_input_writes_nothing(async_url: str) -> None:
    async def main() -> None:
        db = AsyncDatabase.from_url(async_url)
        index = Index(db, "app")
        await index.add("1", "walrus", n=1)
        before = dump(async_url)
        with pytest.raises(TypeError, match="document content must be str or bytes, got int"):
            await index.add("2", 42)
        with pytest.raises(ValueError, match="metadata field 'content' is reserved"):
            await index.update("1", "walrus", content="x")
        with pytest.raises(TypeError, match="metadata field 'flag' must be .* got bool"):
            await index.replace("1", "walrus", {"flag": True})
        with pytest.raises(TypeError, match="document key must be str, bytes, int or UUID"):
            await index.remove(1.5)
        with pytest.raises(ValueError, match="document key must be UTF-8 text"):
            await index.get_document(b"\xff")
        with pytest.raises(TypeError, match="document key must be str, bytes, int or UUID"):
            await index.contains(None)
        with pytest.raises(KeyError, match="'9' is not in index 'app'"):
            await index.update("9", "walrus")  # refused by the script
        with pytest.raises(KeyError):
            await index.remove("9")
        with pytest.raises(QueryError, match="unterminated"):
            await index.search('"walrus')
        with pytest.raises(QueryError):
            await index.search_items("walrus AND")
        with pytest.raises(QueryError):
            await index.search_scores(")")
        assert dump(async_url) == before
        assert await index.search('"walrus', lenient=True) == [{"content": "walrus", "n": "1"}]
        with pytest.raises(ValueError, match="must not contain '.'"):
            Index(db, "app.x")
        await db.aclose()

    asyncio.run(main())


def test_operators_that_cannot_be_awaited(async_url: str) -> None:
    async def main() -> None:
        db = AsyncDatabase.from_url(async_url)
        index = Index(db, "app")
        await index.add("1", "walrus")
        with pytest.raises(TypeError, match=r"asyncio client: in .*await index.contains\(key\)"):
            "1" in index  # noqa: B015
        with pytest.raises(TypeError, match=r"len\(\) cannot be awaited.*await index.length"):
            len(index)
        assert await index.contains("1") and await index.length() == 1
        await db.aclose()

    asyncio.run(main())


@pytest.mark.single_node("writes upstream walrus's single-server key layout by hand")
def test_documents_written_elsewhere_are_reindexed_without_orphans(async_url: str) -> None:
    """The slow paths of a write: a document with no token list (upstream walrus's
    layout: the script reports the stored content, 2 round trips) and one whose hash was
    deleted (its token sets are found by SCAN)."""

    async def main() -> tuple[list[Any], dict[bytes, Any]]:
        sync = Database.from_url(async_url)
        sync.sadd("fts.app", "u1", "u2", "u3")
        sync.hset("doc.app.u1", mapping={"content": "redis walrus", "author": "huey"})
        sync.hset("doc.app.u2", mapping={"content": "walrus"})
        sync.zadd("fts.app.walru", {"u1": -1 / 3, "u2": -1 / 2, "u3": -1})
        sync.zadd("fts.app.redi", {"u1": -1 / 3})
        sync.zadd("fts.app.python", {"u3": -1})
        # Another index whose name starts the same way: its keys must not be touched.
        sync.sadd("fts.app.x", "u3")
        sync.zadd("fts.app.x.walru", {"u3": -1})
        db = AsyncDatabase.from_url(async_url)
        index = Index(db, "app")
        await index.search("walrus")  # loads the scripts
        got: list[Any] = []
        with RoundTripCounter() as rt:
            await index.update("u1", "python tusk", author="ann")
        got.append(rt.count)
        with RoundTripCounter() as rt:
            await index.update("u1", "tusk")  # it has a token list now
        got.append(rt.count)
        await index.remove("u3")  # no hash: SCAN for its token sets
        await index.remove("u2", preserve_data=True)
        got.append(await index.search_items("walrus OR tusk OR python"))
        sync.close()
        await db.aclose()
        return got, dump(async_url)

    got, stored = asyncio.run(main())
    assert got[:2] == [2, 1]
    assert got[2] == [("u1", {"content": "tusk", "author": "ann"})]
    assert stored[b"fts.app"] == {b"u1"}
    assert stored[b"fts.app.tusk"] == [(b"u1", -0.5)]
    assert b"fts.app.walru" not in stored and b"fts.app.python" not in stored
    assert stored[b"fts.app.x.walru"] == [(b"u3", -1.0)]
    assert stored[b"doc.app.u2"] == {b"content": b"walrus"}


def test_round_trips_equal_the_sync_index(async_url: str) -> None:
    def sync_counts() -> list[int]:
        db = Database.from_url(async_url)
        db.flushdb()
        counts: list[int] = []
        for make in calls(Index(db, "app")):
            with RoundTripCounter() as rt:
                make()
            counts.append(rt.count)
        db.flushdb()
        db.close()
        return counts

    async def async_counts() -> list[int]:
        db = AsyncDatabase.from_url(async_url)
        await db.flushdb()
        index = Index(db, "app")
        counts: list[int] = []
        for make in calls(index):
            with RoundTripCounter() as rt:
                await make()
            counts.append(rt.count)
        await db.aclose()
        return counts

    expected = sync_counts()
    assert expected == [1, 1, 1, 2, 2, 0, 1, 1, 1, 1, 1, 1]
    assert asyncio.run(async_counts()) == expected


def calls(index: Index) -> list[Any]:
    """The same calls for either client (each sent and counted after the previous)."""
    return [
        lambda: index.add("warm", "python redis walrus"),  # first run: EVAL
        lambda: index.add("1", "python redis", author="huey"),
        lambda: index.add("2", "python walrus"),
        lambda: index.search("walrus"),  # first search: EVAL, then the HGETALL batch
        lambda: index.search_items("python AND (redis OR walrus)"),
        lambda: index.search_scores("the"),  # only a stopword: nothing sent
        lambda: index.update("1", "walrus"),
        lambda: index.replace("1", "redis", {"n": 1}),
        lambda: index.remove("1", preserve_data=True),
        lambda: index.get_document("2"),
        lambda: index.contains("2"),
        lambda: index.length(),
    ]


def test_run_token_query_on_an_asyncio_client(async_url: str) -> None:
    async def main() -> tuple[Any, Any]:
        db = AsyncDatabase.from_url(async_url)
        index = Index(db, "app")
        await index.add("1", "walrus tusk")
        await index.add("2", "walrus")
        compiled = index.compile("walrus OR tusk")
        found = await run_token_query(db, compiled, index.token_key, index._temp_prefix)
        nothing = await run_token_query(db, index.compile("the"), index.token_key, "t.")
        sync = Database.from_url(async_url)
        expected = run_token_query(sync, compiled, index.token_key, index._temp_prefix)
        sync.close()
        await db.aclose()
        return (found, nothing), expected

    (found, nothing), expected = asyncio.run(main())
    assert found == expected == [("1", pytest.approx(-2 / 3)), ("2", -0.5)]
    assert nothing == []


def test_a_bare_index_on_asyncio_costs_what_the_sync_one_does(async_url: str) -> None:
    """``token_lists=False`` (upstream's layout only) on an asyncio client: 1 round trip to
    add, 2 to re-index and to remove, no token list stored; the sync index reads it."""

    async def main() -> tuple[list[int], Any, bool]:
        db = AsyncDatabase.from_url(async_url)
        sync = Database.from_url(async_url)
        index = Index(db, "bare", token_lists=False)
        await db.ping()
        costs = []
        for call in (
            lambda: index.add("k1", "walrus tusks", n=1),
            lambda: index.update("k1", "walrus fins"),
            lambda: index.remove("k1"),
            lambda: index.add("k2", "walrus fins"),
        ):
            with RoundTripCounter() as rt:
                await call()
            costs.append(rt.count)
        found = Index(sync, "bare").search_items("fins")
        listed = bool(sync.exists(index.tokens_key))
        sync.close()
        await db.aclose()
        return costs, found, listed

    costs, found, listed = asyncio.run(main())
    assert costs == [1, 2, 2, 1]
    assert found == [("k2", {"content": "walrus fins"})] and listed is False
