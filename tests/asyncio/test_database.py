"""walrus.asyncio.AsyncDatabase: URLs, scripts (EVALSHA then EVAL), the shared memory:// engine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from tests.support.redis_server import start_redis_server
from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.exceptions import ScriptNotFound


def test_it_is_a_redis_asyncio_client_and_runs_scripts(async_url: str) -> None:
    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        # redis-py's asyncio client of the URL's kind: a Redis, or a RedisCluster
        assert isinstance(db, redis.asyncio.RedisCluster if db.is_cluster else redis.asyncio.Redis)
        sent: list[str] = []
        original, original_batched = db.execute_command, db._execute_batched
        batched: list[bool] = []  # inside _execute_batched: its fallback is not listed again

        async def spy(*args: Any, **kwargs: Any) -> Any:
            if not batched:
                sent.append(str(args[0]))
            return await original(*args, **kwargs)

        async def spy_batched(command: tuple[Any, ...]) -> Any:  # scripts share batch writes
            sent.append(str(command[0]))
            batched.append(True)
            try:
                return await original_batched(command)
            finally:
                batched.pop()

        db.execute_command = spy  # type: ignore[method-assign]
        db._execute_batched = spy_batched  # type: ignore[method-assign]
        first = await db.run_script("cache_incr", keys=["n"], args=[2, 0])
        second = await db.run_script("cache_incr", keys=["n"], args=[3, 0])
        await db.script_flush()  # the server forgets it: one EVAL again, then EVALSHA
        third = await db.run_script("cache_incr", keys=["n"], args=[1, 0])
        await db.aclose()
        return [first, second, third, sent]

    first, second, third, sent = asyncio.run(main())
    assert (first, second, third) == (2, 5, 6)
    assert sent == ["EVAL", "EVALSHA", "SCRIPT FLUSH", "EVALSHA", "EVAL"]


def test_sync_and_async_clients_share_the_data(async_url: str) -> None:
    sync = Database.from_url(async_url)
    sync.set("from-sync", "1")

    async def main() -> tuple[Any, Any]:
        db = AsyncDatabase.from_url(async_url)
        await db.set("from-async", "2")
        seen = await db.get("from-sync")
        await db.aclose()
        return seen, db.is_embedded

    seen, embedded = asyncio.run(main())
    assert seen == b"1" and sync.get("from-async") == b"2"
    assert embedded == async_url.startswith("memory://")
    sync.close()


def test_a_second_event_loop_gets_working_connections(async_url: str) -> None:
    """asyncio.run twice on one client: redis-py's pool is bound to a loop, so each run
    closes the client it used; a fresh client per loop is the supported pattern."""

    async def once(value: str) -> Any:
        db = AsyncDatabase.from_url(async_url)
        await db.set("k", value)
        found = await db.get("k")
        await db.aclose()
        return found

    assert asyncio.run(once("a")) == b"a"
    assert asyncio.run(once("b")) == b"b"


def test_bad_urls_and_options_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported URL scheme"):
        AsyncDatabase.from_url("ftp://host/0")
    with pytest.raises(TypeError, match="url must be a str"):
        AsyncDatabase.from_url(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected host:port"):
        AsyncDatabase.from_url("redis+cluster://")  # a cluster URL names its nodes
    # The sync client's reconnection options (tests/asyncio/test_reconnect.py): taken, and a
    # bad value refused by name before anything connects.
    asyncio.run(AsyncDatabase.from_url("redis://127.0.0.1/0", retries=3).aclose())
    with pytest.raises(ValueError, match=r"^retries must be >= 0, got -3$"):
        AsyncDatabase.from_url("redis://127.0.0.1/0", retries=-3)
    with pytest.raises(ValueError, match="database must be an integer"):
        AsyncDatabase.from_url("memory://x/abc")

    async def missing() -> None:
        db = AsyncDatabase.from_url("memory://async-missing/0")
        try:
            await db.run_script("no_such_script")
        finally:
            await db.aclose()

    with pytest.raises(ScriptNotFound):
        asyncio.run(missing())


def test_round_trips_are_counted_on_asyncio_connections(async_url: str) -> None:
    """walrus.roundtrips counts asyncio writes too (a pipeline is one; the connection's
    handshake is not counted), so async calls can be held to the sync calls' costs."""
    from walrus.roundtrips import RoundTripCounter

    async def main() -> list[int]:
        db = AsyncDatabase.from_url(async_url)
        if db.is_cluster:
            await db.initialize()  # the slot map, which the first command would read
        counts = []
        with RoundTripCounter() as rt:
            await db.set("a", 1)  # connects first: HELLO/SELECT are not counted
            counts.append(rt.count)
            await db.run_script("cache_incr", keys=["n"], args=[1, 0])
            counts.append(rt.count)
            async with db.pipeline() as pipe:
                pipe.set("b", 1)
                pipe.get("b")
                await pipe.execute()
            counts.append(rt.count)
        await db.aclose()
        return counts

    assert asyncio.run(main()) == [1, 2, 3]


def test_the_database_extras_match_the_sync_client(async_url: str) -> None:
    """Upstream walrus's Database extras, awaited: cas, get_key, hash_exists, search,
    iteration, xsetid, xpending_summary; each the sync call's result and round trips."""
    from tests.support.asyncio_clients import run_with_clients
    from walrus.containers import Hash, ZSet
    from walrus.roundtrips import RoundTripCounter

    async def body(db: Any, sync: Database) -> list[Any]:
        got: list[Any] = []
        sync.set("{x}s", "abc")
        got.append(await db.cas("{x}s", "ab", "new"))  # a prefix match
        got.append((await db.cas("{x}s", "zz", "no"), sync.get("{x}s")))
        got.append(await db.cas("{x}missing", "", "v"))
        sync.hset("{x}h", "f", "1")
        sync.zadd("{x}z", {"m": 1})
        hash_, zset = await db.get_key("{x}h"), await db.get_key("{x}z")
        got.append((type(hash_) is Hash, type(zset) is ZSet, await hash_.get("f")))
        got.append(await db.get_key("{x}s"))
        with pytest.raises(KeyError):
            await db.get_key("{x}missing")
        got.append((await db.hash_exists("{x}h"), await db.hash_exists("{x}missing")))
        got.append(sorted([k async for k in db.search("{x}*")]))
        got.append(sorted([k async for k in db]))
        with pytest.raises(TypeError, match="await db.dbsize"):
            len(db)
        with pytest.raises(TypeError, match="async for"):
            iter(db)
        sync.xadd("{x}st", {"a": 1}, id="5-0")
        sync.xgroup_create("{x}st", "g", id="0")
        sync.xreadgroup("g", "c", {"{x}st": ">"})
        got.append((await db.xpending_summary("{x}st", "g"))["pending"])
        got.append(await db.xsetid("{x}st", "9-0"))
        got.append(sync.xinfo_stream("{x}st")["last-generated-id"])
        got.append(db.get_temp_key().startswith("temp."))
        pairs = []
        for make in (
            lambda d: d.cas("{x}s", "n", "m"),
            lambda d: d.get_key("{x}h"),
            lambda d: d.hash_exists("{x}h"),
        ):
            with RoundTripCounter() as rt:
                make(sync)
            sync_count = rt.count
            with RoundTripCounter() as rt:
                await make(db)
            pairs.append((sync_count, rt.count))
        got.append(pairs)
        return got

    got = run_with_clients(async_url, body)
    assert got[:3] == [True, (False, b"new"), False]
    assert got[3] == (True, True, b"1") and got[4] == b"new"
    assert got[5] == (True, False)
    assert got[6] == [b"{x}h", b"{x}s", b"{x}z"] == got[7]
    assert got[8] == 1 and got[9] is True and got[10] == b"9-0" and got[11] is True
    assert got[12] == [(1, 1), (1, 1), (1, 1)]


def test_a_unix_socket_url_reaches_a_real_server(tmp_path: Path) -> None:
    """``unix://`` on a redis-server listening on a socket file: the async client and a
    sync one of the same URL share the data, and walrus's query options are taken out."""
    socket_path = tmp_path / "redis.sock"
    server = start_redis_server("--unixsocket", str(socket_path), "--unixsocketperm", "700")
    url = f"unix://{socket_path}?db=3&retries=2&request_ids=true"
    sync_db = Database.from_url(url)
    try:

        async def main() -> list[Any]:
            db = AsyncDatabase.from_url(url)
            try:
                await db.Hash("h").update(a="1", b="2")
                got = [await db.Hash("h").as_dict(decode=True), db.request_ids]
                got.append(await db.run_script("cache_incr", keys=["n"], args=[4, 0]))
                got.append(await db.client_info())
                return got
            finally:
                await db.aclose()

        fields, request_ids, counter, info = asyncio.run(main())
        assert fields == {"a": "1", "b": "2"} and request_ids is True and counter == 4
        assert info["db"] == 3 and str(info["laddr"]).startswith(str(socket_path))
        assert sync_db.hgetall("h") == {b"a": b"1", b"b": b"2"}  # the same server, db 3
        assert server.client(3).get("n") == b"4"  # over TCP: one server behind both
    finally:
        sync_db.close()
        server.stop()
