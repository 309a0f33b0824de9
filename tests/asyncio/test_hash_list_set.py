"""Hash, List and Set on an AsyncDatabase: the sync containers' code, awaited.

Each test writes with one client kind and reads with the other, so the async methods are
checked against the sync ones (one implementation: containers/running.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.asyncio_clients import run_with_clients as run
from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.containers import Hash, List, Set
from walrus.containers.errors import ContainerTypeError, ContainerValueError, WrongTypeError
from walrus.roundtrips import RoundTripCounter


def test_hash_methods_match_the_sync_hash(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        h = db.Hash("h")
        assert isinstance(h, Hash)
        assert await h.update({"a": "1"}, b="two") is h
        assert sync.Hash("h").as_dict(decode=True) == {"a": "1", "b": "two"}
        sync.Hash("h").update(c=3)
        assert await h.get("c") == b"3"
        assert await h.get("zz", "dflt") == "dflt"
        assert await h["a"] == b"1"
        assert await h[("a", "zz")] == [b"1", None]
        assert await h.length() == 3
        assert await h.contains("b") and not await h.contains("zz")
        assert sorted(await h.keys()) == [b"a", b"b", b"c"]
        assert sorted(await h.values()) == [b"1", b"3", b"two"]
        assert sorted(await h.items()) == [(b"a", b"1"), (b"b", b"two"), (b"c", b"3")]
        assert await h.as_dict(decode=True) == {"a": "1", "b": "two", "c": "3"}
        assert sorted([pair async for pair in h]) == sorted(sync.Hash("h").items())
        assert [pair async for pair in h.items(lazy=True)] != []
        assert [pair async for pair in h.search("[ab]*")] != []
        assert sorted([p async for p in h.search("*", count=2)]) != [] and (
            len([p async for p in h.search("*", count=2)]) == 2
        )
        assert await h.setnx("a", "x") is False and await h.setnx("d", "4") is True
        await h.set("e", "5")
        assert await h.incr("c", 2) == 5
        assert await h.incr_float("c", 0.5) == 5.5
        assert await h.delete("d", "e", "missing") == 2
        assert await h.delete() == 0
        assert sync.Hash("h").as_dict(decode=True) == {"a": "1", "b": "two", "c": "5.5"}
        assert await h.expire(100) is True and 0 < sync.ttl("h") <= 100
        assert await h.pexpire(None) is True and sync.ttl("h") == -1
        dumped = await h.dump()
        assert dumped == sync.dump("h")
        made = await Hash.from_dict(db, "h2", {"x": "1"}, clear=True)
        assert made == db.Hash("h2") and sync.hgetall("h2") == {b"x": b"1"}
        assert await (await h.clear()).length() == 0

    run(async_url, body)


def test_list_methods_match_the_sync_list(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        lst = db.List("l")
        assert isinstance(lst, List)
        assert await lst.extend(["a", "b", "c"]) == 3
        assert await lst.append("d") == 4 and await lst.prepend("z") == 5
        assert sync.List("l").as_list(decode=True) == ["z", "a", "b", "c", "d"]
        assert await lst[0] == b"z" and await lst[-1] == b"d" and await lst[9] is None
        assert await lst[1:3] == [b"a", b"b"] and await lst[::2] == [b"z", b"b", b"d"]
        assert await lst.length() == 5
        assert await lst.contains("c") and not await lst.contains("q")
        assert [item async for item in lst] == sync.List("l").as_list()
        await lst.set(1, "A")
        assert await lst.insert("x", "A", "after") == 6
        assert await lst.insert_before("y", "z") == 7 and await lst.insert_after("w", "d") == 8
        assert await lst.as_list(decode=True) == ["y", "z", "A", "x", "b", "c", "d", "w"]
        await lst.delete(0)  # index
        await lst.delete("x")  # value
        assert await lst.popleft() == b"z" and await lst.popright() == b"w"
        assert await lst.pop() == b"d"
        assert await lst.move_tail("{l}o") == b"c" and sync.lrange("{l}o", 0, -1) == [b"c"]
        assert await lst.bmove_tail("{l}o", 1) == b"b"
        assert await lst.bpopleft(1) == b"A" and await lst.bpopright(0.1) is None
        await lst.extend(["b", "a", "c"])
        assert await lst.sort() == [b"a", b"b", b"c"]
        await lst.delete(slice(1, None))  # trims to items 1..
        assert sync.List("l").as_list(decode=True) == ["a", "c"]
        made = await List.from_list(db, "l2", ["1", "2"], clear=True)
        assert sync.lrange("l2", 0, -1) == [b"1", b"2"] and made == db.List("l2")

    run(async_url, body)


def test_set_methods_match_the_sync_set(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        s = db.Set("{s}a")
        other = db.Set("{s}b")
        assert isinstance(s, Set)
        assert await s.add("a", "b", "c") == 3 and await s.add() == 0
        sync.Set("{s}b").add("b", "c", "d")
        assert await s.length() == 3
        assert await s.contains("a") and not await s.contains("d")
        assert await s.members() == {b"a", b"b", b"c"} == sync.Set("{s}a").members()
        assert await s.as_set(decode=True) == {"a", "b", "c"}
        assert {m async for m in s} == {b"a", b"b", b"c"}
        assert [m async for m in s.search("a*")] == [b"a"]
        assert await (s & other) == {b"b", b"c"}
        assert await (s | other) == {b"a", b"b", b"c", b"d"}
        assert await (s - other) == {b"a"}
        stored = await s.interstore("{s}i", other)
        assert stored == db.Set("{s}i") and sync.smembers("{s}i") == {b"b", b"c"}
        await s.unionstore("{s}u", "{s}b")
        await s.diffstore("{s}d", other)
        assert sync.smembers("{s}u") == {b"a", b"b", b"c", b"d"}
        assert sync.smembers("{s}d") == {b"a"}
        assert await s.random() in {b"a", b"b", b"c"}
        assert len(await s.random(-5)) == 5
        assert await s.remove("a") == 1
        assert await s.pop() in {b"b", b"c"}
        assert await s.sort() in ([b"b"], [b"c"])
        made = await Set.from_set(db, "{s}n", ["x"], clear=True)
        assert made == db.Set("{s}n") and sync.smembers("{s}n") == {b"x"}

    run(async_url, body)


def test_operators_python_cannot_await_name_the_awaitable(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[str]:
        h, lst, s = db.Hash("h"), db.List("l"), db.Set("s")
        messages = []
        attempts: list[Callable[[], Any]] = [
            lambda: len(h),
            lambda: "a" in h,
            lambda: h.__setitem__("a", "1"),
            lambda: h.__delitem__("a"),
            lambda: list(h),
            lambda: len(lst),
            lambda: lst.__setitem__(0, "x"),
            lambda: lst.__delitem__(0),
            lambda: "x" in s,
            lambda: s.__ior__(db.Set("t")),
        ]
        for attempt in attempts:
            with pytest.raises(TypeError) as caught:
                attempt()
            messages.append(str(caught.value))
        # Nothing was sent: the keys are still missing.
        assert sync.exists("h", "l", "s") == 0
        with pytest.raises(TypeError, match="sync client"):
            sync.Hash("h").__aiter__()
        return messages

    messages = run(async_url, body)
    assert "use await h.length()" in messages[0]
    assert "use await h.contains(field)" in messages[1]
    assert "use await h.set(field, value)" in messages[2]
    assert "use async for" in messages[4]
    assert all("asyncio client" in m for m in messages)


def test_errors_are_the_sync_ones_and_nothing_is_written(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        sync.set("str", "v")
        with pytest.raises(WrongTypeError, match="holds a string, expected a hash"):
            await db.Hash("str").get("a")
        with pytest.raises(WrongTypeError, match="expected a list"):
            await db.List("str").append("x")
        with pytest.raises(WrongTypeError, match="'str' holds a string, expected a set"):
            await (db.Set("{str}s") & db.Set("str"))  # one slot, for a cluster
        sync.hset("h", "n", "text")
        with pytest.raises(ContainerValueError, match="cannot increment field"):
            await db.Hash("h").incr("n")
        with pytest.raises(ContainerTypeError):
            await db.Hash("h").update(a=object())
        with pytest.raises(ContainerTypeError):
            await db.List("l").extend("abc")
        with pytest.raises(ContainerValueError, match="UTF-8"):
            await db.Set("s").add("\udcff")
        with pytest.raises(IndexError):
            await db.List("l").set(5, "x")
        assert sync.hgetall("h") == {b"n": b"text"}
        assert sync.exists("l", "s") == 0

    run(async_url, body)


def test_round_trips_are_the_sync_ones(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[tuple[int, int]]:
        await db.ping()  # connect first: the counts compare commands, not handshakes
        sync.ping()
        pairs = []
        for make in (
            lambda d: d.Hash("h").update(a=1, b=2),
            lambda d: d.Hash("h").as_dict(),
            lambda d: d.List("l").extend([1, 2, 3]),
            lambda d: d.List("l").delete(1),
            lambda d: d.Set("s").add(1, 2),
            lambda d: d.Set("s").length(),
        ):
            with RoundTripCounter() as sync_rt:
                make(sync)
            with RoundTripCounter() as async_rt:
                await make(db)
            pairs.append((sync_rt.count, async_rt.count))
        return pairs

    pairs = run(async_url, body)
    assert pairs == [(1, 1)] * 6
