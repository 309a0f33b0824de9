"""BitField, BitFieldOperation, BloomFilter, Array and HyperLogLog on an AsyncDatabase: the
sync containers' code, awaited.

Each test writes with one client kind and reads with the other, so the async methods are
checked against the sync ones (one implementation: containers/running.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.asyncio_clients import run_with_clients as run
from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.containers import Array, BitField, BitFieldOperation, BloomFilter, HyperLogLog
from walrus.containers.errors import (
    ContainerIndexError,
    ContainerTypeError,
    ContainerValueError,
    WrongTypeError,
)
from walrus.roundtrips import RoundTripCounter

# -- BitField and BitFieldOperation ------------------------------------------------------------


def test_bit_field_chains_match_the_sync_ones(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        bf = db.bit_field("bf")
        assert isinstance(bf, BitField)
        op = bf.set("u8", 0, 255).get("u8", 0).incrby("u8", 0, 2).get("u4", 0)
        assert isinstance(op, BitFieldOperation)
        assert await op.execute() == [0, 255, 1, 0]
        assert sync.get("bf") == b"\x01"
        assert sync.bit_field("bf").get("u8", 0).execute() == [1]
        sync.bit_field("bf").set("i8", 8, -5).execute()
        assert await bf.get("i8", "#1").execute() == [-5]
        assert await bf.incrby("u8", 0, 300, overflow="SAT").execute() == [255]
        assert await bf.incrby("u8", 0, 1, overflow="FAIL").execute() == [None]
        assert [value async for value in bf.get("u8", 0).get("i8", 8)] == [255, -5]
        assert await BitFieldOperation(db, "bf").get("u16", 0).execute() == [0xFFFB]
        assert sync.get("bf") == b"\xff\xfb"
        with RoundTripCounter() as rt:
            assert await bf.operation().execute() == []
        assert rt.count == 0

    run(async_url, body)


def test_bit_field_shortcuts_match_the_sync_ones(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        bf = db.bit_field("bf")
        assert await bf[0:8] == 0
        await bf.set_range(slice(0, 8), 0xA5)
        assert sync.get("bf") == b"\xa5"
        assert await bf[:4] == 0xA and await bf[4:8] == 0x5
        sync.bit_field("bf")[8:24] = 0xBEEF
        assert await bf[8:24] == 0xBEEF
        await bf.clear_range(slice(8, 16))
        assert sync.get("bf") == b"\xa5\x00\xef"
        assert await bf.get_raw() == b"\xa5\x00\xef"
        assert await bf.set_raw(b"\xff\x01") is True
        assert sync.bit_field("bf").get_raw() == b"\xff\x01"
        assert await bf.bit_count() == 9 == sync.bit_field("bf").bit_count()
        assert await bf.bit_count(1, 1) == 1 and await bf.bit_count(1) == 1
        assert await bf.get_bit(0) == 1 and await bf.get_bit(8) == 0
        assert await bf.set_bit(8, 1) == 0 and await bf.set_bit(8, True) == 1
        assert await bf.set_bit(0, 0) == 1
        assert sync.get("bf") == b"\x7f\x81"
        assert await db.bit_field("missing").get_raw() is None
        assert await (await bf.clear()).get_raw() is None and sync.exists("bf") == 0

    run(async_url, body)


# -- BloomFilter -------------------------------------------------------------------------------


def test_bloom_filter_matches_the_sync_one(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        bloom = db.bloom_filter("{b}async", 1024)
        twin = sync.bloom_filter("{b}sync", 1024)
        assert isinstance(bloom, BloomFilter) and bloom.bits == 8192
        assert await bloom.contains("apple") is False
        assert sync.exists("{b}async") == 0  # a lookup creates nothing
        assert await bloom.add("apple") is True and await bloom.add("apple") is False
        for item in (b"banana", 42):
            assert await bloom.add(item) is twin.add(item) is True
        twin.add("apple")
        assert sync.get("{b}async") == sync.get("{b}sync")  # the same bits, set alike
        assert "apple" in sync.bloom_filter("{b}async", 1024)
        for item in ("apple", b"banana", 42, "42"):
            assert await db.bloom_filter("{b}sync", 1024).contains(item) is True
        assert await bloom.contains("cherry") is ("cherry" in twin)

    run(async_url, body)


# -- Array -------------------------------------------------------------------------------------


def test_array_methods_match_the_sync_array(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        made = await Array.from_list(db, "arr", ["a", "b"], clear=True)
        assert isinstance(made, Array) and made == db.Array("arr")
        assert sync.Array("arr").as_list(decode=True) == ["a", "b"]
        arr = db.Array("arr")
        await arr.append("c")
        await arr.extend(["d", "e"])
        await arr.extend([])
        sync.Array("arr").append("f")
        assert await arr.as_list(decode=True) == ["a", "b", "c", "d", "e", "f"]
        assert await arr.as_list() == sync.Array("arr").as_list()
        assert await arr.length() == 6
        assert await arr[0] == b"a" and await arr[-1] == b"f" and await arr[9] is None
        assert await arr[-9] is None
        assert await arr[1:3] == [b"b", b"c"] and await arr[::2] == [b"a", b"c", b"e"]
        assert await arr[4:2] == []
        assert await arr.contains("d") and not await arr.contains("z")
        assert [item async for item in arr] == sync.Array("arr").as_list()
        await arr.set(1, "B")
        await arr.set(-1, "F")
        assert sync.Array("arr")[1] == b"B" and sync.Array("arr")[5] == b"F"
        await arr.delete(0)
        assert sync.Array("arr").as_list(decode=True) == ["B", "c", "d", "e", "F"]
        assert await arr.pop() == b"F" and await arr.pop(1) == b"c"
        assert sync.Array("arr").as_list(decode=True) == ["B", "d", "e"]
        again = await Array.from_list(db, "arr", ["x"], clear=True)
        assert await again.as_list() == [b"x"]
        await Array.from_list(db, "arr", [])  # nothing to add, nothing cleared
        assert sync.hgetall("arr") == {b"0": b"x"}

    run(async_url, body)


# -- HyperLogLog -------------------------------------------------------------------------------


def test_hyperloglog_matches_the_sync_one(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        a = db.HyperLogLog("{h}a")
        assert isinstance(a, HyperLogLog)
        assert await a.length() == 0
        assert await a.add("1", "2", "3") is True and await a.add("1") is False
        assert len(sync.HyperLogLog("{h}a")) == 3 == await a.length()
        sync.HyperLogLog("{h}b").add("3", "4")
        b = db.HyperLogLog("{h}b")
        assert await a.count(b) == 4 and await a.count("{h}b") == 4 and await a.count() == 3
        merged = await a.merge("{h}m", b)
        assert isinstance(merged, HyperLogLog) and merged.key == "{h}m"
        assert len(sync.HyperLogLog("{h}m")) == 4 and await merged.length() == 4
        assert await a.length() == 3
        into = await a.merge(a, "{h}b")  # the awaitable form of a |= b
        assert into is a and await a.length() == 4
        await a.add(*range(1000))
        assert 980 <= await a.length() <= 1030
        assert sync.HyperLogLog("{h}a").count() == await a.count()

    run(async_url, body)


# -- What cannot be awaited, errors, costs -----------------------------------------------------


def test_operators_python_cannot_await_name_the_awaitable(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[str]:
        bf, bloom = db.bit_field("bf"), db.bloom_filter("bloom")
        arr, hll = db.Array("arr"), db.HyperLogLog("hll")
        attempts: list[Callable[[], Any]] = [
            lambda: bf.__setitem__(slice(0, 8), 1),
            lambda: bf.__delitem__(slice(0, 8)),
            lambda: list(bf.get("u8", 0)),
            lambda: "x" in bloom,
            lambda: len(arr),
            lambda: "x" in arr,
            lambda: arr.__setitem__(0, "x"),
            lambda: arr.__delitem__(0),
            lambda: list(arr),
            lambda: len(hll),
            lambda: hll.__ior__(db.HyperLogLog("other")),
        ]
        messages = []
        for attempt in attempts:
            with pytest.raises(TypeError) as caught:
                attempt()
            messages.append(str(caught.value))
        # Nothing was sent: the keys are still missing.
        assert sync.exists("bf", "bloom", "arr", "hll", "other") == 0
        with pytest.raises(TypeError, match="sync client"):
            sync.bit_field("bf").get("u8", 0).__aiter__()
        with pytest.raises(TypeError, match="sync client"):
            sync.Array("arr").__aiter__()
        return messages

    messages = run(async_url, body)
    assert all("asyncio client" in m for m in messages)
    expected = [
        "await bf.set_range(slice(start, stop), n)",
        "await bf.clear_range(slice(start, stop))",
        "async for",
        "await bloom.contains(item)",
        "await arr.length()",
        "await arr.contains(item)",
        "await arr.set(i, value)",
        "await arr.delete(i)",
        "async for",
        "await hll.length()",
        "await hll.merge(hll, other)",
    ]
    for message, instead in zip(messages, expected, strict=True):
        assert f"use {instead}" in message


def test_errors_are_the_sync_ones_and_nothing_is_written(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        sync.rpush("lst", "a")
        with pytest.raises(WrongTypeError, match="'lst' holds a list, expected a string"):
            await db.bit_field("lst").get("u8", 0).execute()
        with pytest.raises(WrongTypeError, match="expected a string"):
            await db.bit_field("lst")[0:8]
        with pytest.raises(WrongTypeError):
            await db.bit_field("lst").set_bit(1, 1)
        with pytest.raises(WrongTypeError, match="expected a string"):
            await db.bloom_filter("lst").add("x")
        with pytest.raises(WrongTypeError, match="'lst' holds a list, expected a hash"):
            await db.Array("lst").append("x")
        with pytest.raises(WrongTypeError, match="expected a hash"):
            await db.Array("lst")[-1]
        with pytest.raises(WrongTypeError, match="expected a hyperloglog"):
            await db.HyperLogLog("lst").add("x")
        with pytest.raises(WrongTypeError, match="'{h}lst' holds a list"):
            sync.rpush("{h}lst", "a")
            await db.HyperLogLog("{h}a").merge(db.HyperLogLog("{h}lst"))
        assert sync.lrange("lst", 0, -1) == [b"a"]

        # Bad arguments: refused before anything is sent.
        sync.set("bf", b"\x0f")
        bf = db.bit_field("bf")
        with pytest.raises(ContainerValueError, match="does not fit in the 4 bits"):
            await bf.set_range(slice(0, 4), 16)
        with pytest.raises(ContainerValueError):
            await bf.clear_range(slice(0, 8, 2))
        with pytest.raises(ContainerValueError, match="bad bit range"):
            await bf[8:0]
        with pytest.raises(ContainerValueError, match="0 or 1"):
            await bf.set_bit(3, 2)
        with pytest.raises(ContainerTypeError):
            await bf.set_raw([1])
        assert sync.get("bf") == b"\x0f"
        with pytest.raises(ContainerTypeError, match="item"):
            await db.bloom_filter("bloom").add(None)
        sync.Array("arr").extend(["x", "y"])
        arr = db.Array("arr")
        with pytest.raises(ContainerTypeError):
            await arr.append(None)
        with pytest.raises(ContainerTypeError):
            await arr.extend("abc")
        with pytest.raises(ContainerTypeError):
            await Array.from_list(db, "arr", "abc", clear=True)
        with pytest.raises(ContainerTypeError, match="slice"):
            await arr.set(slice(0, 1), "x")  # type: ignore[arg-type]
        with pytest.raises(ContainerIndexError, match="out of range"):
            await arr.set(5, "x")
        with pytest.raises(IndexError):
            await arr.delete(-3)
        with pytest.raises(IndexError):
            await db.Array("empty").pop()
        with pytest.raises(ContainerValueError, match="UTF-8"):
            await arr.append("\udcff")
        assert sync.Array("arr").as_list(decode=True) == ["x", "y"]
        hll = db.HyperLogLog("hll")
        with pytest.raises(ContainerTypeError, match="item must be"):
            await hll.add("x", None)
        with pytest.raises(ContainerTypeError, match="HyperLogLog objects or key names"):
            await hll.merge("m2", 5)
        with pytest.raises(ContainerTypeError, match="dest"):
            await hll.merge(5)
        assert sync.exists("bloom", "empty", "hll", "m2") == 0

    run(async_url, body)


def test_round_trips_are_the_sync_ones(async_url: str) -> None:
    def calls(db: Any) -> list[Callable[[], Any]]:
        bf, bloom = db.bit_field("bf"), db.bloom_filter("{k}bloom")
        arr, hll = db.Array("arr"), db.HyperLogLog("{k}hll")
        return [
            lambda: bf.set("u8", 0, 7).get("u4", 0).execute(),
            lambda: bf[0:8],
            lambda: bf.set_range(slice(8, 16), 3),
            lambda: bf.bit_count(),
            lambda: bf.get_bit(0),
            lambda: bloom.add("x"),
            lambda: bloom.contains("x"),
            lambda: Array.from_list(db, "arr", ["a", "b", "c"], clear=True),
            lambda: arr.append("d"),
            lambda: arr[-1],
            lambda: arr.length(),
            lambda: arr.contains("b"),
            lambda: arr.set(0, "z"),
            lambda: arr.pop(0),
            lambda: arr.as_list(),
            lambda: hll.add("a", "b"),
            lambda: hll.length(),
            lambda: hll.count("{k}other"),
            lambda: hll.merge("{k}m", "{k}other"),
        ]

    sync = Database.from_url(async_url)
    sync.ping()
    sync_costs, sync_results = [], []
    for make in calls(sync):
        with RoundTripCounter() as rt:
            sync_results.append(make())
        sync_costs.append(rt.count)
    sync.flushdb()
    sync.close()

    async def body(db: AsyncDatabase, sync: Database) -> tuple[list[int], list[Any]]:
        await db.ping()  # connects: the handshake is not counted below
        costs, results = [], []
        for make in calls(db):
            with RoundTripCounter() as rt:
                results.append(await make())
            costs.append(rt.count)
        return costs, results

    costs, results = run(async_url, body)
    assert costs == sync_costs == [1] * 19
    # The same replies (the containers compare by client, so only their keys).
    assert [r.key if hasattr(r, "key") else r for r in results] == [
        r.key if hasattr(r, "key") else r for r in sync_results
    ]
