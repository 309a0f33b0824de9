"""ZSet on an AsyncDatabase: the sync sorted set's code, awaited.

Each test writes with one client kind and reads with the other, so the async methods are
checked against the sync ones (one implementation: containers/running.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.asyncio_clients import run_with_clients as run
from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.containers import ZSet
from walrus.containers.errors import ContainerTypeError, ContainerValueError, WrongTypeError
from walrus.roundtrips import RoundTripCounter

ABC = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


def test_writes_match_the_sync_zset(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        zs = db.ZSet("z")
        assert isinstance(zs, ZSet)
        data = {"a": 1}
        assert await zs.add(data) == 1 and data == {"a": 1}
        assert await zs.add(b=2, c="3.5") == 2
        assert await zs.add("f", 6, "g", "-inf") == 2
        assert await zs.add() == 0 and await zs.add({}) == 0
        assert await zs.add({"a": 10}) == 0
        await zs.set("h", 0.5)
        assert sync.ZSet("z").as_items(decode=True) == [
            ("g", float("-inf")), ("h", 0.5), ("b", 2.0), ("c", 3.5), ("f", 6.0), ("a", 10.0),
        ]  # fmt: skip
        assert await zs.incr("b", 1.5) == 3.5 == sync.zscore("z", "b")
        assert await zs.incr("new") == 1.0
        assert await zs.remove("new", "missing") == 1 and await zs.remove() == 0
        assert await zs.remove_by_rank(0) == 1  # g
        assert await zs.remove_by_score("(3", 6) == 3  # b and c (3.5), f (6)
        assert sync.ZSet("z").as_items() == [(b"h", 0.5), (b"a", 10.0)]
        assert await zs.length() == 2 == len(sync.ZSet("z"))
        assert await zs.contains("h") and not await zs.contains("zz")
        sync.zadd("lex", {"a": 0, "b": 0, "c": 0, "d": 0})
        assert await db.ZSet("lex").remove_by_lex("[b", "(d") == 2
        assert sync.zrange("lex", 0, -1) == [b"a", b"d"]
        made = await ZSet.from_dict(db, "z2", {"x": 1, "y": 2.5}, clear=True)
        assert made == db.ZSet("z2") and sync.ZSet("z2").as_items() == [(b"x", 1.0), (b"y", 2.5)]
        await ZSet.from_dict(db, "z2", {"q": 3}, clear=True)
        assert sync.ZSet("z2").as_items() == [(b"q", 3.0)]
        assert await made.expire(100) is True and 0 < sync.ttl("z2") <= 100
        assert await made.pexpire(None) is True and sync.ttl("z2") == -1
        assert await made.dump() == sync.dump("z2")
        assert await (await made.clear()).length() == 0 and sync.exists("z2") == 0

    run(async_url, body)


def test_reads_match_the_sync_zset(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        ZSet.from_dict(sync, "z", ABC)
        zs, szs = db.ZSet("z"), sync.ZSet("z")
        assert await zs.score("c") == 3.0 and await zs.score("zz") is None
        assert await zs.rank("c") == 2 and await zs.rank("c", reverse=True) == 2
        assert await zs.rank("a", reverse=True) == 4 and await zs.rank("zz") is None
        assert await zs.count(2, 4) == 3 and await zs.count(5) == 1
        sync.zadd("lex", {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0})
        lex = db.ZSet("lex")
        assert await lex.lex_count("-", "+") == 5 and await lex.lex_count("(a", "[c") == 2
        assert await zs.range(0, 1) == [b"a", b"b"] == szs.range(0, 1)
        assert await zs.range(0, 1, with_scores=True, desc=True) == [(b"e", 5.0), (b"d", 4.0)]
        assert await zs.range_by_score(4, 2) == [b"b", b"c", b"d"]
        assert await zs.range_by_score("(1", "+inf", 1, 2, with_scores=True) == [
            (b"c", 3.0), (b"d", 4.0),
        ]  # fmt: skip
        assert await zs.range_by_score(1, 5, reverse=True, num=2) == [b"e", b"d"]
        assert await lex.range_by_lex("[b", "(d") == [b"b", b"c"]
        assert await lex.range_by_lex("+", "-", 0, 2, reverse=True) == [b"e", b"d"]
        assert await zs.as_items() == szs.as_items()
        assert await zs.as_items(decode=True) == [(k, float(v)) for k, v in ABC.items()]
        assert await zs.iterator() == [b"a", b"b", b"c", b"d", b"e"]
        assert await zs.iterator(with_scores=True, reverse=True) == szs.iterator(True, True)
        assert sorted([pair async for pair in zs]) == sorted(szs) == szs.as_items()
        assert [pair async for pair in zs.search("[bd]")] == [(b"b", 2.0), (b"d", 4.0)]
        assert len([pair async for pair in zs.search("*", count=3)]) == 3
        assert [pair async for pair in zs.search("*", count=0)] == []
        assert await zs.sort(ordering="DESC") == [b"e", b"d", b"c", b"b", b"a"]
        assert await zs.sort(limit=2, offset=1) == szs.sort(limit=2, offset=1) == [b"b", b"c"]

    run(async_url, body)


def test_indexing_and_delete_match_the_sync_operators(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        ZSet.from_dict(sync, "z", ABC)
        zs, szs = db.ZSet("z"), sync.ZSet("z")
        assert await zs[:2] == [b"a", b"b"] == szs[:2]
        assert await zs[-2:, True] == [(b"d", 4.0), (b"e", 5.0)] == szs[-2:, True]
        assert await zs[:0] == []
        assert await zs[::-2] == [b"e", b"c", b"a"] == szs[::-2]
        assert await zs[1:3:1, True] == [(b"b", 2.0), (b"c", 3.0)]
        assert await zs["b":"d"] == [b"b", b"c", b"d"] == szs["b":"d"]
        assert await zs[:"b", True] == [(b"a", 1.0), (b"b", 2.0)]
        assert await zs["c"] == [b"c"] and await zs["c", True] == [(b"c", 3.0)]
        assert await zs[1] == [b"b"] and await zs[9] == []
        with pytest.raises(KeyError):
            await zs["zz":"b"]
        await zs.delete("a")
        await zs.delete(("b", "missing"))
        assert sync.zrange("z", 0, -1) == [b"c", b"d", b"e"]
        await zs.delete(slice(None, 0))  # surely empty: nothing sent, nothing removed
        await zs.delete(slice(0, 1))  # rank 0
        assert sync.zrange("z", 0, -1) == [b"d", b"e"]
        sync.zadd("z", {"f": 6, "g": 7})
        await zs.delete(slice("e", "f"))  # member bounds, inclusive
        assert sync.zrange("z", 0, -1) == [b"d", b"g"]
        with pytest.raises(KeyError):
            await zs.delete(slice("zz", None))
        with pytest.raises(ContainerValueError, match="slice step"):
            await zs.delete(slice(None, None, 2))
        assert sync.zrange("z", 0, -1) == [b"d", b"g"]

    run(async_url, body)


def test_pops_match_the_sync_zset(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        ZSet.from_dict(sync, "z", ABC)
        zs = db.ZSet("z")
        assert await zs.popmin() == [(b"a", 1.0)]
        assert await zs.popmax(2) == [(b"e", 5.0), (b"d", 4.0)]
        sync.zadd("z", {"a": 1, "d": 4, "e": 5})
        assert await zs.popmin_compat(2) == [(b"a", 1.0), (b"b", 2.0)]
        assert await zs.popmax_compat(2) == [(b"e", 5.0), (b"d", 4.0)]
        assert sync.zrange("z", 0, -1) == [b"c"]
        assert await zs.bpopmax(1) == (b"c", 3.0)
        assert await zs.popmin() == [] and await zs.popmax_compat() == []
        assert await zs.bpopmin(0.1) is None
        sync.zadd("z", {"x": 7})
        assert await zs.bpopmin(1) == (b"x", 7.0)

        async def later() -> None:
            await asyncio.sleep(0.1)
            await db.ZSet("z").add(w=2)

        # The wait does not block the loop: the add runs while bpopmax waits.
        popped, _ = await asyncio.gather(db.ZSet("z").bpopmax(5), later())
        assert popped == (b"w", 2.0) and sync.exists("z") == 0

    run(async_url, body)


def test_store_operations_match_the_sync_zset(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        ZSet.from_dict(sync, "{z}a", {"a": 1, "b": 2, "c": 3})
        ZSet.from_dict(sync, "{z}b", {"b": 10, "c": 20, "d": 30})
        sync.sadd("{z}s", "c", "e")
        za, zb = db.ZSet("{z}a"), db.ZSet("{z}b")
        stored = await za.interstore("{z}i", zb)
        assert stored == db.ZSet("{z}i") and isinstance(stored, ZSet)
        assert sync.ZSet("{z}i").as_items() == [(b"b", 12.0), (b"c", 23.0)]
        await za.interstore(db.ZSet("{z}i2"), "{z}b", aggregate="max", weights=[2, 1])
        assert sync.ZSet("{z}i2").as_items() == [(b"b", 10.0), (b"c", 20.0)]
        union = await za.unionstore("{z}u", zb, db.Set("{z}s"), aggregate="MIN")
        assert await union.as_items() == [
            (b"a", 1.0), (b"c", 1.0), (b"e", 1.0), (b"b", 2.0), (b"d", 30.0),
        ]  # fmt: skip
        sync.ZSet("{z}a").unionstore("{z}su", "{z}b", "{z}s", aggregate="MIN")
        assert sync.ZSet("{z}su").as_items() == await union.as_items()
        with pytest.raises(ContainerValueError, match="aggregate"):
            await za.unionstore("{z}bad", zb, aggregate="AVG")
        with pytest.raises(ContainerTypeError, match="unexpected keyword"):
            await za.interstore("{z}bad", zb, wieghts=[1, 1])
        with pytest.raises(ContainerTypeError, match="expected ZSet/Set objects"):
            za.interstore("{z}bad", 42)
        assert sync.exists("{z}bad") == 0

    run(async_url, body)


def test_operators_python_cannot_await_name_the_awaitable(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[str]:
        zs = db.ZSet("z")
        messages = []
        attempts: list[Callable[[], Any]] = [
            lambda: len(zs),
            lambda: "a" in zs,
            lambda: zs.__setitem__("a", 1),
            lambda: zs.__delitem__("a"),
            lambda: list(zs),
            lambda: zs.__ior__(db.ZSet("other")),
            lambda: zs.__iand__(db.ZSet("other")),
        ]
        for attempt in attempts:
            with pytest.raises(TypeError) as caught:
                attempt()
            messages.append(str(caught.value))
        # Nothing was sent: the keys are still missing.
        assert sync.exists("z", "other") == 0
        with pytest.raises(TypeError, match="sync client"):
            sync.ZSet("z").__aiter__()
        return messages

    messages = run(async_url, body)
    assert "len() cannot be awaited, use await zs.length()" in messages[0]
    assert "use await zs.contains(member)" in messages[1]
    assert "use await zs.set(member, score)" in messages[2]
    assert "use await zs.delete(item)" in messages[3]
    assert "use async for" in messages[4]
    assert "use await zs.unionstore(zs.key, other)" in messages[5]
    assert "use await zs.interstore(zs.key, other)" in messages[6]
    assert all("asyncio client" in m for m in messages)


def test_errors_are_the_sync_ones_and_nothing_is_written(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        sync.set("str", "v")
        sync.hset("hash", "f", "v")
        with pytest.raises(WrongTypeError, match="'str' holds a string, expected a zset"):
            await db.ZSet("str").add(a=1)
        with pytest.raises(WrongTypeError, match="'hash' holds a hash, expected a zset"):
            await db.ZSet("hash")[1:]
        with pytest.raises(WrongTypeError, match="expected a zset"):
            await db.ZSet("str").popmax_compat()
        with pytest.raises(WrongTypeError, match="expected a zset"):
            [pair async for pair in db.ZSet("hash")]
        ZSet.from_dict(sync, "z", {"a": 1})
        ZSet.from_dict(sync, "{hash}z", {"a": 1})  # the slot of "hash", for a cluster
        with pytest.raises(WrongTypeError, match="key 'hash' holds a hash, expected a zset"):
            await db.ZSet("{hash}z").interstore("{hash}dest", "{hash}z", "hash")
        zs = db.ZSet("z")
        with pytest.raises(ContainerValueError, match="score of 'x' must be a number"):
            await zs.add({"x": "abc"})
        with pytest.raises(ContainerValueError, match="NaN"):
            await zs.set("x", float("nan"))
        with pytest.raises(ContainerTypeError, match="member must be"):
            await zs.add({("t", "u"): 1})
        with pytest.raises(ContainerValueError, match="UTF-8"):
            await zs.add({"\udcff": 1})
        with pytest.raises(ContainerTypeError, match="count must be an int"):
            await zs.popmin("2")  # type: ignore[arg-type]
        with pytest.raises(ContainerValueError, match="timeout"):
            await zs.bpopmin(-1)
        with pytest.raises(ContainerTypeError, match="from_dict expects a mapping"):
            ZSet.from_dict(db, "z", [("b", 2)])  # type: ignore[arg-type]
        with pytest.raises(ContainerValueError, match="must be a number"):
            await ZSet.from_dict(db, "z", {"b": "x"}, clear=True)
        assert sync.ZSet("z").as_items() == [(b"a", 1.0)]
        assert sync.exists("{hash}dest") == 0

    run(async_url, body)


def test_round_trips_are_the_sync_ones(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[tuple[int, int]]:
        await db.ping()  # connect first: the counts compare commands, not handshakes
        sync.ping()
        pairs = []
        for make in (
            lambda d: ZSet.from_dict(d, "z", ABC, clear=True),
            lambda d: d.ZSet("z").add({"f": 6}),
            lambda d: d.ZSet("z").add(),
            lambda d: d.ZSet("z")[:3, True],
            lambda d: d.ZSet("z")["b":"d"],
            lambda d: d.ZSet("z").popmin_compat(1),
            lambda d: d.ZSet("z").remove(),
            lambda d: d.ZSet("z").unionstore("z", "z"),
        ):
            with RoundTripCounter() as sync_rt:
                make(sync)
            with RoundTripCounter() as async_rt:
                await make(db)
            pairs.append((sync_rt.count, async_rt.count))
        return pairs

    pairs = run(async_url, body)
    assert pairs == [(1, 1), (1, 1), (0, 0), (1, 1), (1, 1), (1, 1), (0, 0), (1, 1)]
