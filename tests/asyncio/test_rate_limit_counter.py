"""db.rate_limit() and db.counter() on an AsyncDatabase: the sync helpers' code, awaited."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.counter import Counter
from walrus.rate_limit import RateLimit, RateLimitException
from walrus.roundtrips import RoundTripCounter


def test_rate_limit_is_exact_under_gather_and_shares_state_with_sync(async_url: str) -> None:
    async def main() -> tuple[list[bool], Any, int, bool, bool, int]:
        db = AsyncDatabase.from_url(async_url)
        limiter = db.rate_limit("api", limit=7, per=60)
        assert isinstance(limiter, RateLimit)
        refused = await asyncio.gather(*(limiter.limit("alice") for _ in range(20)))
        result = await limiter.check("bob", cost=3)
        sync = Database.from_url(async_url)
        sync_left = sync.rate_limit("api", limit=7, per=60).remaining("bob")
        sync.close()
        reset = await limiter.reset("alice")
        again = await limiter.limit("alice")
        left = await limiter.remaining("alice")
        await db.aclose()
        return refused, result, sync_left, reset, again, left

    refused, result, sync_left, reset, again, left = asyncio.run(main())
    assert refused.count(False) == 7 and refused.count(True) == 13  # exactly the limit
    assert result.allowed and result.remaining == 4 and sync_left == 4
    assert reset is True and again is False and left == 6


def test_rate_limit_strategies_debug_and_bad_input(async_url: str) -> None:
    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        got: list[Any] = []
        for strategy in ("fixed-window", "sliding-window-counter", "gcra"):
            limiter = db.rate_limit(f"s-{strategy}", limit=2, per=60, strategy=strategy)
            got.append([await limiter.limit("k") for _ in range(3)])
        debug = db.rate_limit("dbg", limit=1, per=60, debug=True)
        got.append([await debug.limit("k"), await debug.limit("k")])
        got.append((await debug.check("k")).allowed)
        with pytest.raises(TypeError, match="rate limit key must be str or bytes"):
            await db.rate_limit("api", limit=2).limit(12)
        with pytest.raises(ValueError):
            await db.rate_limit("api", limit=2).check("k", cost=5)  # above the limit
        got.append(await db.keys("*"))
        await db.aclose()
        return got

    got = asyncio.run(main())
    assert got[:3] == [[False, False, True]] * 3
    assert got[3] == [False, False] and got[4] is True
    assert not any(b"api" in key for key in got[5])  # refused calls wrote nothing


def test_rate_limited_decorates_async_functions(async_url: str) -> None:
    async def main() -> tuple[list[str], float]:
        db = AsyncDatabase.from_url(async_url)
        limiter = db.rate_limit("calls", limit=2, per=60)

        @limiter.rate_limited(lambda user: user)
        async def greet(user: str) -> str:
            await asyncio.sleep(0)
            return f"hi {user}"

        got = [await greet("ann"), await greet("ann"), await greet("bo")]
        with pytest.raises(RateLimitException) as refused:
            await greet("ann")
        with pytest.raises(TypeError, match="decorates async functions only"):
            limiter.rate_limited()(lambda: None)
        await db.aclose()
        return got, refused.value.retry_after

    got, retry_after = asyncio.run(main())
    assert got == ["hi ann", "hi ann", "hi bo"]
    assert 0 < retry_after <= 60


def test_a_sync_limiter_still_decorates_async_functions(async_url: str) -> None:
    sync = Database.from_url(async_url)
    limiter = sync.rate_limit("calls", limit=1, per=60)

    @limiter.rate_limited(lambda: "one")
    async def job() -> int:
        return 1

    async def main() -> int:
        first = await job()
        with pytest.raises(RateLimitException):
            await job()
        return first

    assert asyncio.run(main()) == 1
    sync.close()


def test_counter_on_asyncio(async_url: str) -> None:
    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        hits = db.counter("hits")
        other = db.counter("other")
        assert isinstance(hits, Counter)
        got: list[Any] = [await hits.value()]
        got.append(await hits.incr())
        got.append(await hits.incr(5))
        await other.reset(10)
        got.append(await hits.incr(other))  # another counter's value: 2 round trips
        got.append(await hits.decr(2))
        sync = Database.from_url(async_url)
        got.append(sync.counter("hits").value())
        sync.close()
        with pytest.raises(TypeError, match="incr_by must be an int"):
            await hits.incr("3")
        for operator in (lambda: hits.__iadd__(1), lambda: int(hits)):
            with pytest.raises(TypeError, match="asyncio client"):
                operator()
        await hits.clear()
        got.append(await hits.value())
        await db.ping()
        with RoundTripCounter() as rt:
            await hits.incr(other)
        got.append(rt.count)
        await db.aclose()
        return got

    assert asyncio.run(main()) == [0, 1, 6, 16, 14, 14, 0, 2]
