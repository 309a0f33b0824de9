"""Stream, ConsumerGroup and TimeSeries on an AsyncDatabase: the sync containers' methods,
awaited, on the same keys (a sync client reads what the asyncio one wrote and vice versa)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from walrus import ConsumerGroup, ConsumerGroupStream, Database, Stream
from walrus.asyncio import AsyncDatabase
from walrus.containers.errors import ContainerTypeError, ContainerValueError, WrongTypeError
from walrus.containers.streams import (
    ITER_PAGE_SIZE,
    GroupNotFoundError,
    StreamIdError,
    StreamNotFoundError,
)
from walrus.roundtrips import RoundTripCounter
from walrus.streams import Message, TimeSeries, TimeSeriesStream

D1 = datetime(2024, 1, 1, 12, 0, 0)
D2 = datetime(2024, 1, 1, 12, 0, 1)


def _ids(entries: list[Any]) -> list[bytes]:
    return [mid for mid, _ in entries]


def test_stream_writes_and_reads_match_the_sync_client(async_url: str) -> None:
    sync = Database.from_url(async_url)

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        stream = db.Stream("s")
        assert isinstance(stream, Stream)
        got: list[Any] = [await stream.length()]
        for i in range(1, 6):
            got.append(await stream.add({"i": i}, id=f"{i}-0"))
        auto = await stream.add({"auto": "yes"})
        got.append(5 < int(auto.split(b"-")[0]) < 9999999999999)
        got.append(await stream.add({"x": 1}, id="9999999999999-*"))
        # Written by the asyncio client, read by the sync one, and the reverse.
        got.append(_ids(sync.Stream("s").range(count=3)))
        sync.Stream("s").add({"from": "sync"}, id="9999999999999-5")
        got.append(await stream.get("9999999999999-5"))
        got.append(await stream.get("3"))
        got.append(await stream.get("99-0"))
        got.append(_ids(await stream.range("2-0", "4-0")))
        got.append(_ids(await stream.range("2-0", count=2)))
        got.append(_ids(await stream.revrange("4-0", "-", count=2)))
        got.append(await stream["3-0"])
        got.append(_ids(await stream["2-0":"3-0"]))
        got.append(_ids(await stream[:"2-0"]))
        got.append(await stream.length())
        got.append(await stream.delete("1-0", "99-0"))
        got.append(await stream.delete())
        got.append(await stream.trim(4, approximate=False))
        got.append(_ids(await stream.range()) == _ids(sync.Stream("s").range()))
        got.append(await stream.length() == len(sync.Stream("s")))
        got.append(auto)
        await db.aclose()
        return got

    got = asyncio.run(main())
    auto = got.pop()
    assert got == [
        0, b"1-0", b"2-0", b"3-0", b"4-0", b"5-0", True, b"9999999999999-0",
        [b"1-0", b"2-0", b"3-0"],
        (b"9999999999999-5", {b"from": b"sync"}),
        (b"3-0", {b"i": b"3"}),
        None,
        [b"2-0", b"3-0", b"4-0"],
        [b"2-0", b"3-0"],
        [b"4-0", b"3-0"],
        (b"3-0", {b"i": b"3"}),
        [b"2-0", b"3-0"],
        [b"1-0", b"2-0"],
        8, 1, 0, 3, True, True,
    ]  # fmt: skip
    assert _ids(sync.Stream("s").range()) == [b"5-0", auto, b"9999999999999-0", b"9999999999999-5"]
    sync.close()


def test_trim_by_minid_set_id_and_introspection(async_url: str) -> None:
    sync = Database.from_url(async_url)
    for i in range(1, 5):
        sync.xadd("s", {"i": i}, id=f"{i}-0")
    sync.xgroup_create("s", "g", "0")
    sync.xreadgroup("g", "alice", {"s": ">"}, count=1)

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        stream = db.Stream("s")
        got: list[Any] = [await stream.trim(minid="3-0", approximate=False)]
        got.append(_ids(sync.Stream("s").range()))
        info = await stream.info()
        got.append((info["length"], info["last-generated-id"]))
        got.append(info == sync.Stream("s").info())
        groups = await stream.groups_info()
        got.append([(g["name"], g["pending"]) for g in groups])
        consumers = await stream.consumers_info("g")
        got.append([(c["name"], c["pending"]) for c in consumers])
        got.append(await stream.set_id("100-0"))
        got.append(sync.Stream("s").info()["last-generated-id"])
        await db.aclose()
        return got

    assert asyncio.run(main()) == [
        2,
        [b"3-0", b"4-0"],
        (2, b"4-0"),
        True,
        [(b"g", 1)],
        [(b"alice", 1)],
        True,
        b"100-0",
    ]
    sync.close()


def test_async_for_pages_through_the_stream(async_url: str) -> None:
    sync = Database.from_url(async_url)
    pipe = sync.pipeline()
    count = ITER_PAGE_SIZE * 2 + 50
    for i in range(1, count + 1):
        pipe.xadd("big", {"i": i}, id=f"{i}-1")
    pipe.execute()

    async def main() -> tuple[list[int], list[Any], int, int]:
        db = AsyncDatabase.from_url(async_url)
        await db.ping()  # connects: the handshake is not counted below
        with RoundTripCounter() as rt:
            seen = [int(data[b"i"]) async for _, data in db.Stream("big")]
        missing = [m async for m in db.Stream("missing")]
        with RoundTripCounter() as empty:
            assert [m async for m in db.Stream("missing")] == []
        await db.aclose()
        return seen, missing, rt.count, empty.count

    seen, missing, pages, empty = asyncio.run(main())
    assert seen == list(range(1, count + 1))
    assert seen == [int(data[b"i"]) for _, data in sync.Stream("big")]
    assert missing == []
    with RoundTripCounter() as rt:
        [m for m in sync.Stream("big")]  # not list(): that asks len() first (XLEN)
    assert pages == rt.count == 3 and empty == 1
    sync.close()


def test_read_and_blocking_read_leave_the_loop_free(async_url: str) -> None:
    sync = Database.from_url(async_url)
    for i in range(1, 4):
        sync.xadd("s", {"i": i}, id=f"{i}-0")

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        stream = db.Stream("s")
        got: list[Any] = [_ids(await stream.read())]
        got.append(_ids(await stream.read(last_id="1-0")))
        got.append(_ids(await stream.read(count=1, last_id="1-0")))
        got.append(await stream.read(last_id="3-0"))
        got.append(await db.Stream("missing").read())
        got.append(await stream.read(block=20, last_id="$"))

        async def later() -> None:
            await asyncio.sleep(0.2)
            await stream.add({"late": "yes"}, id="10-0")

        started = time.monotonic()
        read, _ = await asyncio.gather(stream.read(block=5000, last_id="$"), later())
        got.append(read)
        got.append(time.monotonic() - started < 4)
        await db.aclose()
        return got

    assert asyncio.run(main()) == [
        [b"1-0", b"2-0", b"3-0"],
        [b"2-0", b"3-0"],
        [b"2-0"],
        [],
        [],
        [],
        [(b"10-0", {b"late": b"yes"})],
        True,
    ]
    assert sync.Stream("s").read(last_id="3-0") == [(b"10-0", {b"late": b"yes"})]
    sync.close()


_SEVERAL_SLOTS = pytest.mark.single_node(
    "reads streams of several slots; tests/cluster/test_cluster_asyncio.py reads tagged ones"
)


@_SEVERAL_SLOTS
def test_consumer_group_workflow(async_url: str) -> None:
    sync = Database.from_url(async_url)
    sync.xadd("stream-1", {"old": 0}, id="1-0")

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        cg = db.consumer_group("grp", ["stream-1", "stream-2"])
        assert isinstance(cg, ConsumerGroup) and isinstance(cg.stream_1, ConsumerGroupStream)
        got: list[Any] = [await cg.create()]
        got.append(await cg.create())
        got.append(sync.type("stream-2"))
        for i in range(2, 4):
            await cg.stream_1.add({"n": i}, id=f"{i}-0")
            await cg.stream_2.add({"n": i * 10}, id=f"{i}-1")
        alice, bob = cg.consumer("alice"), cg.consumer("bob")
        got.append(await alice.read(count=1))
        rest = dict(await bob.read())
        got.append((_ids(rest[b"stream-1"]), _ids(rest[b"stream-2"])))
        got.append(await alice.read())
        got.append(await cg.read(consumer="bob"))
        pending = await alice.stream_1.pending()
        got.append([(p["message_id"], p["consumer"]) for p in pending])
        seen = sync.consumer_group("grp", ["stream-1"]).stream_1.pending()
        got.append(
            [(p["message_id"], p["times_delivered"]) for p in pending]
            == [(p["message_id"], p["times_delivered"]) for p in seen]
        )
        only = await alice.stream_1.pending(consumer="alice", count=1)
        got.append([p["message_id"] for p in only])
        got.append(await alice.stream_1.ack("1-0", "99-0"))
        got.append(await alice.stream_1.ack())
        await asyncio.sleep(0.02)
        claimed = await alice.stream_1.claim("2-0", min_idle_time=10)
        got.append(_ids(claimed))
        got.append(await alice.stream_1.claim())
        next_id, auto, deleted = await cg.consumer("carol").stream_2.autoclaim(0, count=5)
        got.append((next_id, _ids(auto), deleted))
        got.append(await cg.consumer("dave").stream_2.autoclaim(0, justid=True))
        # A consumer's own pending messages, by id.
        got.append(_ids(await alice.stream_1.read(last_id="0-0")))
        consumers = await alice.stream_1.consumers_info()
        got.append(sorted((c["name"], c["pending"]) for c in consumers))
        got.append(await bob.stream_1.delete_consumer())
        got.append(await alice.stream_1.delete_consumer("nobody"))
        got.append(await alice.stream_1.set_id("$"))
        got.append(await alice.stream_1.read())
        got.append(await cg.set_id("2-0"))
        got.append(_ids(await cg.stream_1.read()))
        got.append(await cg.reset())
        got.append(len(await cg.read(count=1)))
        info = await cg.stream_info()
        got.append({k: v["length"] for k, v in info.items()})
        got.append(await cg.destroy())
        got.append(await cg.destroy())
        got.append(sync.xinfo_groups("stream-1"))
        await db.aclose()
        return got

    assert asyncio.run(main()) == [
        {"stream-1": True, "stream-2": True},
        {"stream-1": False, "stream-2": False},
        b"stream",
        [[b"stream-1", [(b"1-0", {b"old": b"0"})]], [b"stream-2", [(b"2-1", {b"n": b"20"})]]],
        ([b"2-0", b"3-0"], [b"3-1"]),
        [],
        [],
        [(b"1-0", b"alice"), (b"2-0", b"bob"), (b"3-0", b"bob")],
        True,
        [b"1-0"],
        1,
        0,
        [b"2-0"],
        [],
        (b"0-0", [b"2-1", b"3-1"], []),
        (None, [b"2-1", b"3-1"], []),
        [b"2-0"],
        [(b"alice", 1), (b"bob", 1)],
        1,
        0,
        True,
        [],
        {"stream-1": True, "stream-2": True},
        [b"3-0"],
        {"stream-1": True, "stream-2": True},
        2,
        {"stream-1": 3, "stream-2": 2},
        {"stream-1": True, "stream-2": True},
        {"stream-1": False, "stream-2": False},
        [],
    ]
    sync.close()


def test_sync_client_sees_the_async_group_and_the_reverse(async_url: str) -> None:
    sync = Database.from_url(async_url)
    sync_cg = sync.consumer_group("grp", "s")
    assert sync_cg.create() == {"s": True}
    sync_cg.s.add({"a": 1}, id="1-0")

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        cg = db.consumer_group("grp", "s", consumer="w")
        got: list[Any] = [await cg.read()]
        sync_cg.s.add({"b": 2}, id="2-0")
        got.append(await cg.s.read())
        await db.aclose()
        return got

    assert asyncio.run(main()) == [
        [[b"s", [(b"1-0", {b"a": b"1"})]]],
        [(b"2-0", {b"b": b"2"})],
    ]
    assert [p["consumer"] for p in sync_cg.s.pending()] == [b"w", b"w"]
    assert sync_cg.read() == []
    sync.close()


@_SEVERAL_SLOTS
def test_time_series(async_url: str) -> None:
    sync = Database.from_url(async_url)

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        ts = db.time_series("grp", ["temp-a", "temp-b"])
        assert isinstance(ts, TimeSeries) and isinstance(ts.temp_a, TimeSeriesStream)
        got: list[Any] = [await ts.create()]
        got.append(await ts.temp_a.add({"v": "a1"}, id=D1))
        got.append(await ts.temp_b.add({"v": "b1"}, id=D1))
        got.append(await ts.temp_a.add({"v": "a2"}, id=D2))
        msg = await ts.temp_a.get(D2)
        got.append((type(msg), msg.timestamp, msg.data))
        got.append([m.timestamp async for m in ts.temp_a])
        messages = await ts.read()
        got.append([(m.stream, m.data["v"], m.timestamp) for m in messages])
        got.append(all(isinstance(m, Message) for m in messages))
        pending = await ts.temp_a.pending()
        got.append([(p[0], p[1], p[3]) for p in pending])
        got.append(await ts.temp_a.ack(D1))
        got.append(await ts.set_id(D1))
        got.append([(m.stream, m.timestamp) for m in await ts.read()])
        got.append(await ts.temp_a.delete((D1, 0)))
        got.append([m.data for m in await ts.temp_a.range()])
        await db.aclose()
        return got

    got = asyncio.run(main())
    assert got == [
        {"temp-a": True, "temp-b": True},
        (D1, 0),
        (D1, 0),
        (D2, 0),
        (Message, D2, {"v": "a2"}),
        [D1, D2],
        [("temp-a", "a1", D1), ("temp-b", "b1", D1), ("temp-a", "a2", D2)],
        True,
        [((D1, 0), "grp.c1", 1), ((D2, 0), "grp.c1", 1)],
        1,
        {"temp-a": True, "temp-b": True},
        [("temp-a", D2)],
        1,
        [{"v": "a2"}],
    ]
    sync_ts = sync.time_series("grp", ["temp-a", "temp-b"])
    assert [m.timestamp for m in sync_ts.temp_a] == [D2]
    assert [p[0] for p in sync_ts.temp_a.pending()] == [(D2, 0)]
    sync.close()


# -- errors ------------------------------------------------------------------------------------


@_SEVERAL_SLOTS
def test_wrong_type_keys(async_url: str) -> None:
    sync = Database.from_url(async_url)
    sync.set("str", "value")
    sync.xadd("good", {"a": 1}, id="1-0")

    async def main() -> int:
        db = AsyncDatabase.from_url(async_url)
        stream = db.Stream("str")

        async def each() -> list[Any]:
            return [m async for m in stream]

        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: stream.add({"a": 1}),
            stream.length,
            stream.range,
            stream.read,
            stream.info,
            lambda: stream.trim(1),
            each,
            db.consumer_group("grp", ["good", "new", "str"]).create,
        ]
        raised = 0
        for make in calls:
            with pytest.raises(WrongTypeError, match="'str' holds a string, expected a stream"):
                await make()
            raised += 1
        # A group read across a stream and the string: the string is named.
        sync.set("str2", "v")
        cg = db.consumer_group("grp", ["good"])
        await cg.create()
        with pytest.raises(WrongTypeError, match="'str2' holds a string"):
            await db.consumer_group("grp", ["good", "str2"]).read()
        await db.aclose()
        return raised

    assert asyncio.run(main()) == 8
    assert sync.get("str") == b"value"
    assert sync.exists("new") == 0
    sync.close()


def test_missing_stream_group_and_refused_ids(async_url: str) -> None:
    sync = Database.from_url(async_url)
    sync.xadd("s", {"a": 1}, id="5-0")

    async def main() -> None:
        db = AsyncDatabase.from_url(async_url)
        with pytest.raises(StreamNotFoundError, match="'nope' does not exist") as missing:
            await db.Stream("nope").info()
        assert isinstance(missing.value, KeyError)
        with pytest.raises(GroupNotFoundError, match="no consumer group 'zz'"):
            await db.Stream("s").consumers_info("zz")
        with pytest.raises(GroupNotFoundError, match="no consumer group 'grp'"):
            await db.consumer_group("grp", "s").s.read()
        with pytest.raises(GroupNotFoundError, match="no consumer group 'grp'"):
            await db.consumer_group("grp", "s").read()
        with pytest.raises(StreamNotFoundError, match="'missing' does not exist"):
            await db.consumer_group("grp", ["s", "missing"]).create(ensure_keys_exist=False)
        with pytest.raises(StreamIdError, match="refused"):
            await db.Stream("s").add({"a": 2}, id="1-0")
        with pytest.raises(StreamIdError, match="refused"):
            await db.Stream("s").set_id("1-0")
        await db.aclose()

    asyncio.run(main())
    assert sync.xlen("s") == 1 and sync.xinfo_groups("s") == [] and sync.exists("missing") == 0
    assert sync.Stream("s").info()["last-generated-id"] == b"5-0"
    sync.close()


def test_bad_arguments_raise_before_anything_is_sent(async_url: str) -> None:
    sync = Database.from_url(async_url)
    sync.xadd("s", {"a": 1}, id="1-0")

    async def main() -> int:
        db = AsyncDatabase.from_url(async_url)
        stream = db.Stream("s")
        await db.ping()  # connects: the handshake is not counted below
        with RoundTripCounter() as rt:
            with pytest.raises(ContainerTypeError, match="value of field 'a'"):
                await stream.add({"a": [1]})
            with pytest.raises(ContainerValueError, match="at least one field"):
                await stream.add({})
            with pytest.raises(StreamIdError, match="greater than 0-0"):
                await stream.add({"a": 1}, id="0-0")
            with pytest.raises(StreamIdError):
                await stream.delete("2-0", "bad")
            with pytest.raises(ContainerValueError, match="exactly one"):
                await stream.trim()
            with pytest.raises(ContainerValueError, match="count"):
                await stream[::0]
            with pytest.raises(ContainerValueError, match="block"):
                await stream.read(block=-1)
            with pytest.raises(ContainerValueError, match="count"):
                await db.consumer_group("g", "s").read(count=0)
            with pytest.raises(StreamIdError):
                await db.consumer_group("g", "s").set_id("nope")
            with pytest.raises(StreamIdError, match="1970"):
                await db.time_series("g", "s").s.add({"a": 1}, id=datetime(1900, 1, 1))
        await db.aclose()
        return rt.count

    assert asyncio.run(main()) == 0
    assert sync.xrange("s") == [(b"1-0", {b"a": b"1"})]
    sync.close()


def test_sync_only_operators_raise_type_error(async_url: str) -> None:
    db = AsyncDatabase.from_url(async_url)
    stream = db.Stream("s")
    series = db.time_series("g", "s").s
    with pytest.raises(TypeError, match=r"len\(\) cannot be awaited, use await stream.length"):
        len(stream)
    with pytest.raises(TypeError, match=r"del stream\[id\] cannot be awaited"):
        del stream["1-0"]
    with pytest.raises(TypeError, match=r"del stream\[id\] cannot be awaited"):
        del series[D1]
    with pytest.raises(TypeError, match="use async for"):
        iter(stream)
    asyncio.run(db.aclose())


def test_round_trips_equal_the_sync_calls(async_url: str) -> None:
    sync = Database.from_url(async_url)

    def sync_costs() -> list[int]:
        stream = sync.Stream("s1")
        cg = sync.consumer_group("g1", ["{t}a", "{t}b"])
        calls: list[Callable[[], Any]] = [
            lambda: stream.add({"a": 1}, id="1-0"),
            lambda: stream.range(),
            lambda: stream.read(),
            lambda: stream.length(),
            lambda: stream.delete(),
            cg.create,
            cg.read,
            lambda: cg.set_id("0-0"),
            lambda: cg.stream("{t}a").pending(),
            cg.destroy,
        ]
        costs = []
        for make in calls:
            with RoundTripCounter() as rt:
                make()
            costs.append(rt.count)
        return costs

    async def async_costs() -> list[int]:
        db = AsyncDatabase.from_url(async_url)
        await db.ping()  # connects: the handshake is not counted below
        stream = db.Stream("s2")
        cg = db.consumer_group("g2", ["{t}a", "{t}b"])
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: stream.add({"a": 1}, id="1-0"),
            lambda: stream.range(),
            lambda: stream.read(),
            lambda: stream.length(),
            lambda: stream.delete(),
            cg.create,
            cg.read,
            lambda: cg.set_id("0-0"),
            lambda: cg.stream("{t}a").pending(),
            cg.destroy,
        ]
        costs = []
        for make in calls:
            with RoundTripCounter() as rt:
                await make()
            costs.append(rt.count)
        await db.aclose()
        return costs

    expected = [1, 1, 1, 1, 0, 2, 1, 1, 1, 1]
    assert sync_costs() == expected
    assert asyncio.run(async_costs()) == expected
    sync.close()
