"""``AsyncDatabase.execute_read``: reads of concurrent tasks share one connection and one socket
write per loop turn (``walrus.asyncio.batching``), on a real server over RESP2 and RESP3; the
other backends send them as ``execute_command``. Faults are real: ``CLIENT KILL`` of the
batch's connection, ``CLIENT PAUSE`` past the socket timeout, a cancelled caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.support.redis_server import RedisServer
from walrus import Database, OutcomeUnknownError
from walrus.asyncio import AsyncDatabase
from walrus.asyncio.batching import BATCHED_READS
from walrus.roundtrips import RoundTripCounter

TASKS = 200


def _fill(url: str, count: int) -> None:
    sync = Database.from_url(url)
    for n in range(count):  # one key at a time: on the cluster they live in different slots
        sync.set(f"k{n}", f"v{n}")
    sync.close()


async def _read_all(db: AsyncDatabase, count: int) -> list[Any]:
    return list(await asyncio.gather(*(db.execute_read("GET", f"k{n}") for n in range(count))))


def test_each_concurrent_read_gets_its_own_reply(async_url: str) -> None:
    batched = not async_url.startswith(("memory://", "redis+cluster://"))
    # redis.asyncio pools open at most 100 connections by default (a command beyond them
    # fails at once): the batched reads take none, the others take one each
    count = TASKS if batched else 90
    _fill(async_url, count)

    async def main() -> tuple[list[Any], int]:
        db = AsyncDatabase.from_url(async_url)
        with RoundTripCounter() as counter:
            replies = await _read_all(db, count)
        await db.aclose()
        return replies, counter.count

    replies, writes = asyncio.run(main())
    assert replies == [f"v{n}".encode() for n in range(count)]
    if batched:  # one write per loop turn, not per read
        assert writes < count / 10, f"{writes} socket writes for {count} reads"
    else:
        assert writes >= count, f"{writes} socket writes for {count} reads"


@pytest.mark.single_node("a cluster client sends each read on its node's connection")
def test_every_batched_command_replies_as_execute_command(async_url: str) -> None:
    sync = Database.from_url(async_url)
    sync.set("s", "hello")
    sync.hset("h", mapping={"a": "1", "b": "22"})
    sync.rpush("l", "x", "y")
    sync.sadd("set", "m")
    sync.zadd("z", {"m": 1.5})
    sync.expire("s", 100)
    sync.close()
    commands = {
        "EXISTS": ("EXISTS", "s", "missing"),
        "GET": ("GET", "s"),
        "GETRANGE": ("GETRANGE", "s", 1, 3),
        "HGET": ("HGET", "h", "b"),
        "HLEN": ("HLEN", "h"),
        "HMGET": ("HMGET", "h", "a", "nope"),
        "HSTRLEN": ("HSTRLEN", "h", "b"),
        "LINDEX": ("LINDEX", "l", 1),
        "LLEN": ("LLEN", "l"),
        "MGET": ("MGET", "s", "missing"),
        "PTTL": ("PTTL", "missing"),
        "SCARD": ("SCARD", "set"),
        "SISMEMBER": ("SISMEMBER", "set", "m"),
        "STRLEN": ("STRLEN", "s"),
        "TTL": ("TTL", "s"),
        "ZCARD": ("ZCARD", "z"),
    }
    assert set(commands) == BATCHED_READS  # a read added to the list gets a case here

    async def main() -> tuple[list[Any], list[Any]]:
        db = AsyncDatabase.from_url(async_url)
        batched = list(await asyncio.gather(*(db.execute_read(*c) for c in commands.values())))
        plain = [await db.execute_command(*c) for c in commands.values()]
        await db.aclose()
        return batched, plain

    batched, plain = asyncio.run(main())
    assert batched == plain
    assert batched[1] == b"hello" and batched[5] == [b"1", None]


def test_a_reply_error_reaches_only_its_caller(async_url: str) -> None:
    _fill(async_url, 3)
    sync = Database.from_url(async_url)
    sync.hset("a-hash", "f", "v")
    sync.close()

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        reads = [
            db.execute_read("GET", "k0"),
            db.execute_read("GET", "a-hash"),  # WRONGTYPE
            db.execute_read("GET", "k2"),
        ]
        replies = list(await asyncio.gather(*reads, return_exceptions=True))
        replies.append(await db.execute_read("GET", "k1"))  # the stream is still in step
        await db.aclose()
        return replies

    first, error, third, after = asyncio.run(main())
    assert (first, third, after) == (b"v0", b"v2", b"v1")
    assert isinstance(error, ResponseError) and "WRONGTYPE" in str(error)


@pytest.mark.parametrize(
    "command",
    [("SET", "k0", "x"), ("set", "k0", "x"), ("BLPOP", "l", 0), (), (42, "k0"), ("EVAL", "")],
)
def test_anything_but_a_batched_read_is_refused_before_sending(
    async_url: str, command: tuple[Any, ...]
) -> None:
    _fill(async_url, 1)

    async def main() -> int:
        db = AsyncDatabase.from_url(async_url)
        with RoundTripCounter() as counter:
            with pytest.raises(ValueError, match="batched read"):
                await db.execute_read(*command)
        await db.aclose()
        return counter.count

    assert asyncio.run(main()) == 0
    sync = Database.from_url(async_url)
    assert sync.get("k0") == b"v0"
    sync.close()


def test_batch_reads_false_sends_each_read_on_the_pool(own_server: RedisServer) -> None:
    url = own_server.url(0)
    _fill(url, 50)

    async def main() -> tuple[list[Any], int]:
        db = AsyncDatabase.from_url(url, batch_reads=False)
        with RoundTripCounter() as counter:
            replies = await _read_all(db, 50)
        await db.aclose()
        return replies, counter.count

    replies, writes = asyncio.run(main())
    assert replies == [f"v{n}".encode() for n in range(50)] and writes == 50


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_batch_reads_takes_a_bool(bad: Any) -> None:
    with pytest.raises(ValueError, match="batch_reads must be True or False"):
        AsyncDatabase.from_url("redis://127.0.0.1:9/0", batch_reads=bad)
    with pytest.raises(ValueError, match="batch_reads"):
        AsyncDatabase(host="127.0.0.1", port=9, batch_reads=bad)
    with pytest.raises(ValueError, match="batch_reads must be True or False"):
        AsyncDatabase.from_url("redis+cluster://127.0.0.1:9", batch_reads=bad)


def _batch_connection(own_server: RedisServer) -> dict[str, Any]:
    """The CLIENT LIST entry of the batcher's connection (the only one named ``batch``)."""
    admin = Database.from_url(own_server.url(0))
    try:
        clients = [c for c in admin.client_list() if c.get("name") == "batch"]
    finally:
        admin.close()
    assert len(clients) == 1, clients
    return clients[0]


def test_a_killed_connection_is_replaced_and_its_reads_resent(own_server: RedisServer) -> None:
    url = own_server.url(0)
    _fill(url, TASKS)

    async def main() -> tuple[list[Any], list[Any]]:
        db = AsyncDatabase.from_url(url, client_name="batch", retries=3, retry_backoff=0)
        await db.execute_read("GET", "k0")  # the batch connection is up
        killed = _batch_connection(own_server)["id"]
        admin = Database.from_url(url)
        admin.client_kill_filter(_id=killed)
        admin.close()
        replies = await _read_all(db, TASKS)  # first write goes to the dead socket
        now = _batch_connection(own_server)["id"]  # one connection named so: no pooled ones
        await db.aclose()
        return replies, [killed, now]

    replies, ids = asyncio.run(main())
    assert replies == [f"v{n}".encode() for n in range(TASKS)]
    assert ids[0] != ids[1]  # a new connection answered


def test_without_retries_the_waiting_reads_fail_with_the_connection(
    own_server: RedisServer,
) -> None:
    url = own_server.url(0)
    _fill(url, 20)

    async def main() -> tuple[list[Any], Any]:
        db = AsyncDatabase.from_url(url, client_name="batch", retries=0)
        await db.execute_read("GET", "k0")
        admin = Database.from_url(url)
        admin.client_kill_filter(_id=_batch_connection(own_server)["id"])
        admin.close()
        outcome = list(
            await asyncio.gather(
                *(db.execute_read("GET", f"k{n}") for n in range(20)), return_exceptions=True
            )
        )
        after = await db.execute_read("GET", "k7")  # a new connection, in step
        await db.aclose()
        return outcome, after

    outcome, after = asyncio.run(main())
    assert all(isinstance(o, RedisConnectionError) for o in outcome), outcome
    assert after == b"v7"


def test_a_timed_out_read_does_not_hand_its_late_reply_to_the_next(own_server: RedisServer) -> None:
    url = own_server.url(0)
    _fill(url, 2)

    async def main() -> tuple[Any, Any]:
        db = AsyncDatabase.from_url(url, socket_timeout=0.2, retries=0)
        await db.execute_read("GET", "k0")
        admin = Database.from_url(url)
        admin.execute_command("CLIENT", "PAUSE", 600, "ALL")
        try:
            late = await db.execute_read("GET", "k0")
        except RedisTimeoutError as exc:
            late = exc
        await asyncio.sleep(0.6)  # the pause ends; k0's reply is sent to the dropped socket
        admin.close()
        after = await db.execute_read("GET", "k1")
        await db.aclose()
        return late, after

    late, after = asyncio.run(main())
    assert isinstance(late, RedisTimeoutError), late
    assert after == b"v1"


def test_a_cancelled_read_leaves_the_others_in_step(own_server: RedisServer) -> None:
    url = own_server.url(0)
    _fill(url, 3)

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(url)
        await db.execute_read("GET", "k0")
        first = asyncio.ensure_future(db.execute_read("GET", "k0"))
        second = asyncio.ensure_future(db.execute_read("GET", "k1"))
        await asyncio.sleep(0)  # both queued (and written) before the cancel
        first.cancel()
        results = [await second, await db.execute_read("GET", "k2")]
        results.append(first.cancelled())
        await db.aclose()
        return results

    assert asyncio.run(main()) == [b"v1", b"v2", True]


def test_aclose_closes_the_batch_connection(own_server: RedisServer) -> None:
    url = own_server.url(0)
    _fill(url, 1)

    async def main() -> tuple[int, Any]:
        db = AsyncDatabase.from_url(url, client_name="batch")
        await db.execute_read("GET", "k0")
        assert _batch_connection(own_server)
        await db.aclose()
        admin = Database.from_url(url)
        for _ in range(100):  # the server sees the close a moment later
            left = len([c for c in admin.client_list() if c.get("name") == "batch"])
            if not left:
                break
            await asyncio.sleep(0.02)
        admin.close()
        again = await db.execute_read("GET", "k0")  # a closed client reconnects, as redis-py's
        await db.aclose()
        return left, again

    assert asyncio.run(main()) == (0, b"v0")


def test_concurrent_scripts_share_writes_and_each_gets_its_own_result(async_url: str) -> None:
    async def main() -> tuple[list[Any], int, bool]:
        db = AsyncDatabase.from_url(async_url)
        await db.run_script("cache_incr", keys=["warm"], args=[1, 0])  # EVAL once, then SHA
        calls = (db.run_script("cache_incr", keys=[f"n{i}"], args=[i, 0]) for i in range(90))
        with RoundTripCounter() as counter:
            results = list(await asyncio.gather(*calls))
        shared = not db.is_embedded and not db.is_cluster
        await db.aclose()
        return results, counter.count, shared

    results, writes, shared = asyncio.run(main())
    assert results == list(range(90))
    if shared:
        assert writes < 10, f"{writes} socket writes for 90 scripts"
    else:
        assert writes >= 90, writes


def test_a_script_whose_reply_is_lost_is_not_resent(own_server: RedisServer) -> None:
    """CLIENT PAUSE WRITE holds the script (sent, not answered) while the read beside it is
    answered; killing the batch connection loses the script's reply: OutcomeUnknownError,
    no resend (the server dropped the held script: the counter never moved)."""
    url = own_server.url(0)
    _fill(url, 1)

    async def main() -> tuple[Any, Any, Any]:
        db = AsyncDatabase.from_url(url, client_name="batch", retries=3, retry_backoff=0)
        await db.run_script("cache_incr", keys=["n"], args=[1, 0])  # n = 1, script loaded
        admin = Database.from_url(url)
        admin.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
        read = asyncio.ensure_future(db.execute_read("GET", "k0"))
        write = asyncio.ensure_future(db.run_script("cache_incr", keys=["n"], args=[5, 0]))
        got = await read  # answered: reads pass a write pause
        await asyncio.sleep(0.1)  # the script is held by the pause
        admin.client_kill_filter(_id=_batch_connection(own_server)["id"])
        outcome = await asyncio.gather(write, return_exceptions=True)
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()
        after = await db.run_script("cache_incr", keys=["n"], args=[10, 0])
        await db.aclose()
        return got, outcome[0], after

    got, outcome, after = asyncio.run(main())
    assert got == b"v0"
    assert isinstance(outcome, OutcomeUnknownError), outcome
    assert after == 11  # 1 + 10: the lost script never ran, and was not sent again
