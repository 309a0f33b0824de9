"""walrus.asyncio.AsyncLock: the sync Lock's semantics on asyncio, sharing its keys."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from walrus import Database
from walrus.asyncio import AsyncDatabase, AsyncLock
from walrus.lock import LockExpired, LockNotOwned
from walrus.roundtrips import RoundTripCounter


def test_acquire_release_and_errors(async_url: str) -> None:
    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        lock = db.lock("job", ttl=10_000)
        assert isinstance(lock, AsyncLock)
        other = db.lock("job", ttl=10_000)
        got = [await lock.acquire(block=False), await other.acquire(block=False)]
        got.append(await lock.owned())
        with pytest.raises(LockNotOwned):
            await other.release()
        got.append(9_000 < (await lock.extend(5_000) or 0) <= 15_000)
        got.append(await lock.renew())
        got.append(await lock.release())
        with pytest.raises(LockExpired):
            await lock.release()
        got.append(await lock.locked())
        await db.aclose()
        return got

    assert asyncio.run(main()) == [True, False, True, True, 10_000, True, False]


def test_sync_and_async_locks_of_one_name_exclude_each_other(async_url: str) -> None:
    sync = Database.from_url(async_url)
    held = sync.lock("shared", ttl=10_000)
    assert held.acquire(block=False)

    async def main() -> tuple[bool, bool]:
        db = AsyncDatabase.from_url(async_url)
        lock = db.lock("shared", ttl=10_000)
        refused = await lock.acquire(block=False)
        held.release()
        taken = await lock.acquire(block=False)
        await lock.release()
        await db.aclose()
        return refused, taken

    assert asyncio.run(main()) == (False, True)
    sync.close()


def test_a_waiter_is_woken_by_release_without_blocking_the_loop(async_url: str) -> None:
    async def main() -> tuple[float, list[str]]:
        db = AsyncDatabase.from_url(async_url)
        order: list[str] = []
        first = db.lock("queue", ttl=10_000)
        await first.acquire()

        async def waiter() -> None:
            async with db.lock("queue", ttl=10_000):
                order.append("waiter")

        async def holder() -> None:
            order.append("holder working")  # runs while the waiter waits: the loop is free
            await asyncio.sleep(0.2)
            await first.release()

        started = time.monotonic()
        await asyncio.gather(waiter(), holder())
        await db.aclose()
        return time.monotonic() - started, order

    elapsed, order = asyncio.run(main())
    assert order == ["holder working", "waiter"]
    assert elapsed < 2.0  # woken by the release, not by the 5 s wait cap


def test_timeouts_costs_and_bad_input(async_url: str) -> None:
    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        holder = db.lock("busy", ttl=10_000)
        await holder.acquire()
        started = time.monotonic()
        timed_out = await db.lock("busy", ttl=1000).acquire(timeout=0.3)
        waited = time.monotonic() - started
        free = db.lock("free", ttl=1000)
        await free.locked()  # connects: the handshake is not counted below
        with RoundTripCounter() as rt:
            await free.acquire()
            await free.release()
        await db.aclose()
        return [timed_out, 0.25 < waited < 2.0, rt.count]

    assert asyncio.run(main()) == [False, True, 2]
    db = AsyncDatabase.from_url(async_url)
    with pytest.raises(ValueError):
        db.lock("", ttl=1000)
    with pytest.raises(TypeError):
        db.lock("x", ttl=1000, lock_id=5)  # type: ignore[arg-type]

    async def bad_timeout() -> None:
        try:
            await db.lock("x", ttl=1000).acquire(block=False, timeout=1)
        finally:
            await db.aclose()

    with pytest.raises(ValueError, match="timeout needs block=True"):
        asyncio.run(bad_timeout())


def test_keep_alive_renews_until_stopped_and_notices_a_lost_lock(async_url: str) -> None:
    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(async_url)
        lock = db.lock("long-job", ttl=300)
        got: list[Any] = []
        async with lock, lock.keep_alive(interval=0.05) as renewer:
            await asyncio.sleep(0.7)  # more than twice the ttl: held only through renewals
            got.append(await lock.owned())
            got.append(renewer.renewals >= 5 and renewer.running)
        got.append(renewer.running)
        # A lock cleared while held: the next renewal notices, marks it lost and stops.
        other = db.lock("cleared-job", ttl=10_000)
        await other.acquire()
        renewer = other.keep_alive(interval=0.05).start()
        await db.lock("cleared-job").clear()
        await asyncio.sleep(0.3)
        got += [renewer.lost, renewer.running]
        await renewer.stop()
        with pytest.raises(ValueError, match="no ttl"):
            db.lock("forever").keep_alive()
        with pytest.raises(ValueError, match="interval"):
            db.lock("bad", ttl=1000).keep_alive(interval=0)
        await db.aclose()
        return got

    assert asyncio.run(main()) == [True, True, False, True, False]
