"""walrus.asyncio.AsyncCache: the sync Cache's keys, format, costs and errors on asyncio."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from walrus import Database
from walrus.asyncio import AsyncCache, AsyncDatabase
from walrus.roundtrips import RoundTripCounter


def test_the_cache_api_and_its_costs(async_url: str) -> None:
    async def main() -> tuple[list[Any], list[int]]:
        db = AsyncDatabase.from_url(async_url)
        cache = db.cache("pages", serializer="json", signing_key="k")
        assert isinstance(cache, AsyncCache)
        await db.ping()  # connects: the handshake is not counted below
        costs: list[int] = []
        got: list[Any] = []
        for call in (
            lambda: cache.set("a", {"x": 1}, timeout=60),
            lambda: cache.get("a"),
            lambda: cache.get("missing", "dflt"),
            lambda: cache.incr("n", 2),
            lambda: cache.incr("n", 3, timeout=30),
            lambda: cache.set_many({"b": [1], "c": "three"}, d=4),
            lambda: cache.get_many(["a", "b", "c", "d", "zz"]),
            lambda: cache.delete("a"),
            lambda: cache.delete_many(["b", "c", "zz"]),
        ):
            with RoundTripCounter() as rt:
                got.append(await call())
            costs.append(rt.count)
        await db.aclose()
        return got, costs

    got, costs = asyncio.run(main())
    assert got == [
        True, {"x": 1}, "dflt", 2, 5, True,
        {"a": {"x": 1}, "b": [1], "c": "three", "d": 4}, True, 2,
    ]  # fmt: skip
    assert costs == [1] * 9  # the sync Cache's round trips, one each


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
