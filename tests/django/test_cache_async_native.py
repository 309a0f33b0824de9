"""WalrusCache's a* methods run natively on redis.asyncio: no thread, the sync methods' format
and round trips, a client per event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from django_walrus.cache import WalrusCache


@pytest.fixture
def cache(walrus_url: str, location_options: dict[str, Any]) -> Iterator[WalrusCache]:
    options = {"SERIALIZER": "json", **location_options}
    backend = WalrusCache(walrus_url, {"KEY_PREFIX": "async", "OPTIONS": options})
    yield backend
    backend.clear()


def _spy(backend: WalrusCache) -> tuple[list[str], set[int]]:
    """Record the commands the running loop's client sends (``execute_command``, and
    ``_execute_batched`` for the reads and scripts batched with other tasks'), and the
    threads sending them."""
    sent: list[str] = []
    threads: set[int] = set()
    database = backend.async_database()
    original, original_batched = database.execute_command, database._execute_batched
    batched: list[bool] = []  # inside _execute_batched: its fallback is not listed again

    async def spy(*args: Any, **kwargs: Any) -> Any:
        if not batched:
            sent.append(str(args[0]))
        threads.add(threading.get_ident())
        return await original(*args, **kwargs)

    async def spy_batched(command: tuple[Any, ...]) -> Any:
        sent.append(str(command[0]))
        threads.add(threading.get_ident())
        batched.append(True)
        try:
            return await original_batched(command)
        finally:
            batched.pop()

    database.execute_command = spy  # type: ignore[method-assign]
    database._execute_batched = spy_batched  # type: ignore[method-assign]
    return sent, threads


def test_the_contract_on_asyncio_in_the_loop_thread(cache: WalrusCache) -> None:
    cache.set("from-sync", {"a": 1})

    async def main() -> tuple[list[Any], list[str], set[int]]:
        sent, threads = _spy(cache)
        got = [
            await cache.aget("from-sync"),
            await cache.aset("k", [1, 2]),
            await cache.aadd("k", "no"),
            await cache.aadd("fresh", "yes", timeout=30),
            await cache.aget("k"),
            await cache.aset("n", 5),
            await cache.aincr("n", 3),
            await cache.adecr("n"),
            await cache.ahas_key("n"),
            await cache.atouch("n", 100),
            await cache.aget_many(["k", "n", "absent"]),
            await cache.aset_many({"m1": 1, "m2": "two"}, timeout=60),
            await cache.adelete("m1"),
            await cache.adelete("m1"),
            await cache.adelete_many(["m2", "fresh"]),
            await cache.aget("absent", "dflt"),
        ]
        await cache.aclose()
        return got, sent, threads

    got, sent, threads = asyncio.run(main())
    assert got == [
        {"a": 1}, None, False, True, [1, 2], None, 8, 7, True, True,
        {"k": [1, 2], "n": 7}, [], True, False, None, "dflt",
    ]  # fmt: skip
    assert threads == {threading.get_ident()}  # sent from the loop's own thread: no thread hop
    # One command per call (the script's EVAL the first time): the sync methods' round trips.
    # aset_many with a timeout is one pipeline, sent by the pipeline object (not listed).
    assert sent == [
        "GET", "SET", "SET", "SET", "GET", "SET", "EVAL", "EVALSHA", "EXISTS", "PEXPIRE",
        "MGET", "DEL", "DEL", "DEL", "GET",
    ]  # fmt: skip
    assert cache.get("k") == [1, 2] and cache.get("n") == 7  # sync reads what async wrote
    assert 90 < cache.ttl("n") <= 100


@pytest.mark.parametrize("batch_reads", [True, False])
def test_concurrent_reads_share_socket_writes_unless_batch_reads_is_off(
    walrus_url: str, location_options: dict[str, Any], batch_reads: bool
) -> None:
    options = {**location_options, "BATCH_READS": batch_reads}
    backend = WalrusCache(walrus_url, {"KEY_PREFIX": "batch", "OPTIONS": options})
    backend.set_many({f"k{n}": n for n in range(60)})

    async def main() -> tuple[list[Any], int]:
        from walrus.roundtrips import RoundTripCounter

        reads = [
            *(backend.aget(f"k{n}") for n in range(60)),
            backend.aget_many(["k1", "k2", "absent"]),
            backend.ahas_key("k3"),
            backend.ahas_key("absent"),
        ]
        with RoundTripCounter() as counter:
            got = list(await asyncio.gather(*reads))
        await backend.aclose()
        return got, counter.count

    got, writes = asyncio.run(main())
    backend.clear()
    assert got == [*range(60), {"k1": 1, "k2": 2}, True, False]
    if batch_reads and not walrus_url.startswith("memory://"):
        assert writes < 10, f"{writes} socket writes for 63 concurrent reads"
    else:  # each read on a connection of the pool (memory:// has no sockets to share)
        assert writes == 63, writes


def test_incr_errors_match_the_sync_ones(cache: WalrusCache) -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="not found"):
            await cache.aincr("missing")
        await cache.aset("text", "abc")
        with pytest.raises(TypeError, match="not an integer"):
            await cache.aincr("text")
        await cache.aclose()

    asyncio.run(main())


def test_each_event_loop_gets_its_own_client(cache: WalrusCache) -> None:
    """A pool belongs to one loop: a second asyncio.run (as Django's test runner and
    async_to_sync do) gets a new client instead of failing with "attached to a different
    loop"."""
    clients = []

    async def once(value: int) -> Any:
        clients.append(cache.async_database())
        await cache.aset("v", value)
        found = await cache.aget("v")
        await cache.aclose()
        return found

    assert asyncio.run(once(1)) == 1
    assert asyncio.run(once(2)) == 2
    assert clients[0] is not clients[1]


@pytest.mark.backends("resp2", reason="a dead port: a real server's address")
def test_ignore_exceptions_applies_to_async_calls(free_port_url: str) -> None:
    down = WalrusCache(
        free_port_url,
        {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5}},
    )

    async def main() -> list[Any]:
        got = [
            await down.aget("k", "fallback"),
            await down.aset("k", 1),
            await down.aget_many(["a"]),
            await down.aadd("k", 1),
        ]
        await down.aclose()
        return got

    assert asyncio.run(main()) == ["fallback", None, {}, False]
    strict = WalrusCache(free_port_url, {"OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5}})

    async def raises() -> None:
        try:
            await strict.aget("k")
        finally:
            await strict.aclose()

    with pytest.raises(redis.exceptions.ConnectionError):
        asyncio.run(raises())


def test_the_alias_cache_runs_async_on_the_alias_url() -> None:
    cache = caches["default"]  # OPTIONS ALIAS "default" (tests/django/conftest.py)
    cache.set("shared", "via-sync")

    async def main() -> Any:
        value = await cache.aget("shared")
        await cache.aclose()
        return value

    assert asyncio.run(main()) == "via-sync"
    cache.delete("shared")


def test_get_async_database_is_one_client_per_alias_and_loop() -> None:
    from django_walrus import get_async_database, get_database

    async def main() -> tuple[Any, Any]:
        first = get_async_database()
        assert get_async_database("default") is first
        await first.set("app:from-async", "1")
        value = await first.get("app:from-async")
        with pytest.raises(KeyError, match="no alias 'nope'"):
            get_async_database("nope")
        return first, value

    first, value = asyncio.run(main())
    second, _ = asyncio.run(main())
    assert value == b"1" and get_database().get("app:from-async") == b"1"
    assert first is not second  # each loop its own client, closed with its loop
    get_database().delete("app:from-async")


def test_aget_or_set_computes_once_natively(cache: WalrusCache) -> None:
    calls: list[int] = []

    async def compute() -> dict[str, int]:  # an async default is awaited
        calls.append(1)
        await asyncio.sleep(0.05)  # every task misses before the first stores
        return {"n": 1}

    async def main() -> tuple[list[Any], set[int], Any]:
        sent, threads = _spy(cache)
        got = list(
            await asyncio.gather(*(cache.aget_or_set("slow", compute, 60) for _ in range(6)))
        )
        got.append(await cache.aget_or_set("plain", lambda: "sync default"))
        await cache.aclose()
        return got, threads, sent

    got, threads, sent = asyncio.run(main())
    assert got == [{"n": 1}] * 6 + ["sync default"] and len(calls) == 1
    assert threads == {threading.get_ident()}  # natively in the loop's thread: no thread hop
    assert "GET" in sent
    assert cache.get("slow") == {"n": 1} and cache.get("plain") == "sync default"
    assert not redis_keys_like(cache, "*fill*")  # the fill lock is released


def redis_keys_like(backend: WalrusCache, pattern: str) -> list[Any]:
    return list(backend.database.scan_iter(match=pattern))


def test_aget_or_set_ignores_an_outage_when_asked(free_port_url: str) -> None:
    down = WalrusCache(
        free_port_url,
        {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5}},
    )

    async def main() -> Any:
        try:
            return await down.aget_or_set("k", lambda: "computed anyway")
        finally:
            await down.aclose()

    assert asyncio.run(main()) == "computed anyway"
