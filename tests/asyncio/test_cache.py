"""walrus.asyncio.AsyncCache: the sync Cache's keys, format, costs and errors on asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from walrus import Database
from walrus.asyncio import AsyncCache, AsyncDatabase
from walrus.roundtrips import RoundTripCounter

# The calls of the cost test, for a cache of either client (an awaitable on an AsyncCache).
CACHE_CALLS: tuple[Callable[[Any], Any], ...] = (
    lambda c: c.set("a", {"x": 1}, timeout=60),
    lambda c: c.get("a"),
    lambda c: c.get("missing", "dflt"),
    lambda c: c.incr("n", 2),
    lambda c: c.incr("n", 3, timeout=30),
    lambda c: c.set_many({"b": [1], "c": "three"}, d=4),
    lambda c: c.get_many(["a", "b", "c", "d", "zz"]),
    lambda c: c.delete("a"),
    lambda c: c.delete_many(["b", "c", "zz"]),
)


def test_the_cache_api_and_its_costs(async_url: str) -> None:
    async def main() -> tuple[list[Any], list[int]]:
        db = AsyncDatabase.from_url(async_url)
        cache = db.cache("pages", serializer="json", signing_key="k")
        assert isinstance(cache, AsyncCache)
        await db.ping()  # connects: the handshake is not counted below
        costs: list[int] = []
        got: list[Any] = []
        for call in CACHE_CALLS:
            with RoundTripCounter() as rt:
                got.append(await call(cache))
            costs.append(rt.count)
        await db.aclose()
        return got, costs

    got, costs = asyncio.run(main())
    assert got == [
        True, {"x": 1}, "dflt", 2, 5, True,
        {"a": {"x": 1}, "b": [1], "c": "three", "d": 4}, True, 2,
    ]  # fmt: skip
    sync_db = Database.from_url(async_url)
    sync = sync_db.cache("sync-pages", serializer="json", signing_key="k")
    sync_db.ping()
    sync_costs: list[int] = []
    sync_got: list[Any] = []
    for call in CACHE_CALLS:
        with RoundTripCounter() as rt:
            sync_got.append(call(sync))
        sync_costs.append(rt.count)
    sync_db.close()
    assert sync_got == got and costs == sync_costs  # the sync Cache's results and round trips
    if not async_url.startswith("redis+cluster"):
        assert costs == [1] * 9  # one each (a cluster sends a many-key call per node)


def test_sync_and_async_caches_share_entries(async_url: str) -> None:
    sync = Database.from_url(async_url).cache("shared", signing_key="k")
    sync.set("from-sync", [1, 2])

    async def main() -> Any:
        db = AsyncDatabase.from_url(async_url)
        cache = db.cache("shared", signing_key="k")
        value = await cache.get("from-sync")
        await cache.set("from-async", {"ok": True})
        await db.aclose()
        return value

    assert asyncio.run(main()) == [1, 2]
    assert sync.get("from-async") == {"ok": True}
    sync.database.close()


def test_cached_coroutines_and_errors(async_url: str) -> None:
    calls: list[int] = []

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        cache = db.cache("memo", serializer="json")

        @cache.cached(timeout=60, metrics=True)
        async def square(n: int) -> int:
            calls.append(n)
            return n * n

        got = [await square(3), await square(3), await square(n=3), await square(4)]
        got.append(await square.bust(3))  # type: ignore[attr-defined]
        got.append(await square(3))
        got.append(square.metrics["hits"])  # type: ignore[attr-defined]
        await cache.set("text", "abc")
        with pytest.raises(TypeError, match="does not hold an incr"):
            await cache.incr("text")
        with pytest.raises(TypeError, match="delta must be an int"):
            await cache.incr("n", 1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await cache.set("k", 1, timeout=-1)
        await db.aclose()
        return got

    assert asyncio.run(main()) == [9, 9, 9, 16, True, 9, 2]
    assert calls == [3, 4, 3]


def test_get_or_set_computes_once_across_concurrent_tasks(async_url: str) -> None:
    async def main() -> tuple[list[Any], int, Any, bool]:
        db = AsyncDatabase.from_url(async_url)
        cache = db.cache("stampede")
        calls = 0

        async def compute() -> str:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)  # long enough for every task to miss first
            return "value"

        got = list(
            await asyncio.gather(
                *(cache.get_or_set("k", compute, lock_timeout=5) for _ in range(8))
            )
        )
        sync = Database.from_url(async_url)
        stored = sync.cache("stampede").get("k")
        fill_lock_left = bool(sync.keys("*fill*"))
        sync.close()
        await db.aclose()
        return got, calls, stored, fill_lock_left

    got, calls, stored, fill_lock_left = asyncio.run(main())
    assert got == ["value"] * 8 and calls == 1
    assert stored == "value" and not fill_lock_left


def test_cached_with_lock_timeout_and_a_failing_computation(async_url: str) -> None:
    async def main() -> tuple[list[int], int, bool, list[str]]:
        db = AsyncDatabase.from_url(async_url)
        cache = db.cache("memo")
        runs: list[int] = []

        @cache.cached(lock_timeout=5, metrics=True)
        async def square(n: int) -> int:
            runs.append(n)
            await asyncio.sleep(0.02)
            return n * n

        got = list(await asyncio.gather(*(square(3) for _ in range(6))))
        got.append(await square(4))

        @cache.cached(lock_timeout=5)
        async def broken() -> int:
            raise RuntimeError("boom")

        errors = []
        for _ in range(2):  # the fill lock is released after a failure: no wait the 2nd time
            try:
                await broken()
            except RuntimeError as exc:
                errors.append(str(exc))
        left = bool(await db.keys("*fill*"))
        with pytest.raises(ValueError, match="lock_timeout"):
            cache.cached(lock_timeout=-1)
        await db.aclose()
        return got, len(runs), left, errors

    got, runs, left, errors = asyncio.run(main())
    assert got == [9] * 6 + [16] and runs == 2
    assert not left and errors == ["boom", "boom"]


def test_concurrent_gets_share_socket_writes_on_a_server(async_url: str) -> None:
    async def main() -> tuple[list[Any], int, bool]:
        db = AsyncDatabase.from_url(async_url)
        cache = db.cache("batched")
        for n in range(50):
            await cache.set(f"k{n}", {"n": n})
        with RoundTripCounter() as counter:
            got = list(await asyncio.gather(*(cache.get(f"k{n}") for n in range(50))))
            got.append(await cache.get_many(["k1", "absent"]))
        shared = not db.is_embedded and not db.is_cluster
        await db.aclose()
        return got, counter.count, shared

    got, writes, shared = asyncio.run(main())
    assert got == [*({"n": n} for n in range(50)), {"k1": {"n": 1}}]
    if shared:  # GET and MGET go through AsyncDatabase.execute_read's batches
        assert writes < 10, f"{writes} socket writes for 51 reads"
    else:
        assert writes >= 51, writes
