"""Graph on an AsyncDatabase: the sync hexastore's code, awaited.

Each test writes with one client kind and reads with the other, so the async methods are
checked against the sync ones (one implementation, written as steps)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from redis.exceptions import ResponseError

from tests.support.asyncio_clients import run_with_clients as run
from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.graph import Graph, Variable
from walrus.roundtrips import RoundTripCounter

TRIPLES = [
    ("charlie", "friends", "huey"),
    ("charlie", "friends", "zaizee"),
    ("charlie", "friends", "nuggie"),
    ("charlie", "lives", "Kansas"),
    ("huey", "lives", "Kansas"),
    ("zaizee", "lives", "Missouri"),
    ("nuggie", "lives", "Kansas"),
    ("mickey", "lives", "Kansas"),
    ("huey", "friends", "charlie"),
    ("huey", "likes", "huey"),
    ("東京", "是", "首都"),
    ("urn:a", "rel:knows", "http://b/c"),
]


def test_store_and_delete_match_the_sync_graph(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        g = Graph(db, "g")
        sg = Graph(sync, "g")
        assert repr(g) == "<Graph 'g'>" and g.key == "g"
        assert await g.store("a", "b", "c") is None
        members = [b"osp::c::a::b", b"pos::b::c::a", b"spo::a::b::c"]
        assert sorted(sync.zrange("g", 0, -1)) == members
        assert sg.query() == [{"s": "a", "p": "b", "o": "c"}]
        # the same members as the sync store writes
        sync.delete("g")
        sg.store("a", "b", "c")
        assert sorted(await db.zrange("g", 0, -1)) == members
        assert await g.delete("a", "b", "c") is True
        assert await g.delete("a", "b", "c") is False
        assert sync.exists("g") == 0
        assert g.keys_for_values("a", "b", "c") == sg.keys_for_values("a", "b", "c")
        assert g.keys_for_query(s="a", o="c") == (b"[osp::c::a::", b"(osp::c::a::\xff")

    run(async_url, body)


def test_store_many_forms_and_large_batches(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        g = Graph(db, "g")
        assert await g.store_many(TRIPLES) is None
        assert sync.zcard("g") == 3 * len(TRIPLES)
        rows = Graph(sync, "g").query()
        assert {(r["s"], r["p"], r["o"]) for r in rows} == set(TRIPLES)
        await g.store_many(("x", "y", "z"), ("d", "e", "f"))
        await g.store_many(("1", "2", "3"))
        await g.store_many(iter([("4", "5", "6")]))
        await g.store_many([])  # nothing to store: nothing sent
        assert sync.zcard("g") == 3 * (len(TRIPLES) + 4)
        # above one ZADD's chunk: one MULTI/EXEC of several ZADDs
        big = Graph(db, "big")
        items = [(f"s{i}", "p", f"o{i}") for i in range(2500)]
        await db.ping()
        with RoundTripCounter() as rt:
            await big.store_many(items)
        assert rt.count == 1
        assert sync.zcard("big") == 3 * 2500
        assert len(Graph(sync, "big").query(p="p")) == 2500
        assert len(await big.query(p="p")) == 2500

    run(async_url, body)


def test_every_query_matches_the_sync_query(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        Graph(sync, "people").store_many(TRIPLES)
        g = Graph(db, "people")
        sg = Graph(sync, "people")
        for triple in TRIPLES + [("huey", "lives", "Mars")]:
            for given in itertools.product([False, True], repeat=3):
                kwargs = {k: v for k, v, on in zip("spo", triple, given, strict=True) if on}
                expected = {
                    t for t in TRIPLES if all(t["spo".index(k)] == v for k, v in kwargs.items())
                }
                rows = await g.query(**kwargs)
                assert rows == sg.query(**kwargs), kwargs  # same order too
                assert {(r["s"], r["p"], r["o"]) for r in rows} == expected, kwargs
        assert await g.query(s="charlie", o="huey") == [
            {"s": "charlie", "p": "friends", "o": "huey"}
        ]
        assert await g.query("東京", "是", "首都") == [{"s": "東京", "p": "是", "o": "首都"}]
        assert await Graph(db, "empty").query() == []

    run(async_url, body)


def test_search_matches_the_sync_search(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        await Graph(db, "people").store_many(TRIPLES)
        g = Graph(db, "people")
        sg = Graph(sync, "people")
        X, Y = g.v.X, g.v("Y")
        assert isinstance(X, Variable) and X == sg.v.X
        searches: list[tuple[Any, ...]] = [
            ({"s": "charlie", "p": "friends", "o": X}, {"s": X, "p": "lives", "o": "Kansas"}),
            (("charlie", "friends", X), (X, "lives", Y)),
            ({"s": X, "p": "friends", "o": Y}, {"s": Y, "p": "friends", "o": X}),
            (("charlie", "friends", X), (X, "lives", Y), (Y, None, None)),
            ({"s": X, "p": "likes", "o": X},),
            ({"s": "nobody", "p": "friends", "o": X},),
            (("huey", "lives", "Kansas"), (X, "lives", "Missouri")),
            (),
        ]
        got = [await g.search(*clauses) for clauses in searches]
        assert got == [sg.search(*clauses) for clauses in searches]
        assert got[0] == {"X": {"huey", "nuggie"}}
        assert got[1] == {"X": {"huey", "zaizee", "nuggie"}, "Y": {"Kansas", "Missouri"}}
        assert got[2] == {"X": {"charlie", "huey"}, "Y": {"charlie", "huey"}}
        assert got[3] == {"X": set(), "Y": set()}
        assert got[4] == {"X": {"huey"}} and got[5] == {"X": set()}
        assert got[6] == {"X": {"zaizee"}} and got[7] == {}

    run(async_url, body)


def test_bad_input_raises_before_anything_is_written(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        g = Graph(db, "g")
        await g.store("a", "b", "c")
        before = sorted(sync.zrange("g", 0, -1))
        await db.ping()
        with RoundTripCounter() as rt:
            for value in ("a::b", ":a", "a:", ""):
                with pytest.raises(ValueError, match="subject"):
                    await g.store(value, "p", "o")
                with pytest.raises(ValueError, match="object"):
                    await g.store_many([("ok", "ok", "ok"), ("s", "p", value)])
                with pytest.raises(ValueError, match="predicate"):
                    await g.query(p=value)
                with pytest.raises(ValueError, match="predicate"):
                    await g.delete("a", value, "c")
            with pytest.raises(TypeError, match="object"):
                await g.store("a", "b", 3)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="item 1"):
                await g.store_many([("ok", "ok", "ok"), ("bad", "triple")])
            with pytest.raises(TypeError, match="iterable"):
                await g.store_many("abc")
            with pytest.raises(TypeError, match="subject"):
                await g.query(s=1)  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="keys must be"):
                await g.search({"x": "a"})
            with pytest.raises(TypeError, match="clause"):
                await g.search("abc")
            with pytest.raises(ValueError, match=r"\(s, p, o\)"):
                await g.search(("a", "b"))
        assert rt.count == 0  # refused before sending
        with pytest.raises(TypeError, match="namespace"):
            Graph(db, None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="namespace"):
            Graph(db, "")
        assert sorted(sync.zrange("g", 0, -1)) == before
        assert await db.keys("*") == [b"g"]

    run(async_url, body)


def test_server_errors_come_as_they_are(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> tuple[str, str]:
        sync.set("s", "not a sorted set")
        with pytest.raises(ResponseError) as async_error:
            await Graph(db, "s").store("a", "b", "c")
        with pytest.raises(ResponseError) as sync_error:
            Graph(sync, "s").store("a", "b", "c")
        assert type(async_error.value) is type(sync_error.value)
        return str(async_error.value), str(sync_error.value)

    async_message, sync_message = run(async_url, body)
    assert async_message == sync_message and "WRONGTYPE" in async_message


def test_round_trips_equal_the_sync_calls(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        g = Graph(db, "g")
        sg = Graph(sync, "g")
        await db.ping()
        sync.ping()
        calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
            ("store", ("a", "b", "c"), {}),
            ("store_many", ([("a", "b", "d"), ("e", "b", "c")],), {}),
            ("query", (), {"s": "a"}),
            ("query", ("a", "b", "c"), {}),
            ("search", ({"s": g.v.X, "p": "b", "o": "c"}, {"s": g.v.X, "p": "b", "o": "d"}), {}),
            ("search", (), {}),
            ("delete", ("a", "b", "c"), {}),
        ]
        base = [("a", "b", "c"), ("a", "b", "d"), ("e", "b", "c")]
        for name, args, kwargs in calls:
            sync.delete("g")
            sg.store_many(base)
            with RoundTripCounter() as sync_rt:
                expected = getattr(sg, name)(*args, **kwargs)
            sync_members = sorted(sync.zrange("g", 0, -1))
            sync.delete("g")
            sg.store_many(base)
            with RoundTripCounter() as async_rt:
                got = await getattr(g, name)(*args, **kwargs)
            assert got == expected, name
            assert sorted(sync.zrange("g", 0, -1)) == sync_members, name
            assert async_rt.count == sync_rt.count, name
            assert async_rt.count == (0 if name == "search" and not args else 1), name

    run(async_url, body)
