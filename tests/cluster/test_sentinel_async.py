"""Sentinel on asyncio: ``AsyncDatabase.from_url("redis+sentinel://...")`` writes to the primary
the sentinel names and follows a failover to the promoted replica, data and scripts intact."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, TimeoutError

from tests.support.sentinel_server import SentinelSetup
from walrus.asyncio import AsyncDatabase

pytestmark = pytest.mark.cluster

RESUME_WITHIN = 30.0  # seconds from the completed failover to the first write on the new primary


def test_async_client_follows_a_failover(sentinel_setup: SentinelSetup) -> None:
    setup = sentinel_setup

    async def main() -> list[Any]:
        db = AsyncDatabase.from_url(setup.url(0), socket_timeout=2, retries=10, retry_backoff=0.1)
        try:
            got = [await db.connection_pool.get_master_address()]
            await db.Hash("h").update(a="1", b="2")
            await db.ZSet("z").add({"x": 1, "y": 2})
            got.append(await db.lock("job", ttl=60_000).acquire(block=False))
            got.append(await db.run_script("cache_incr", keys=["n"], args=[5, 0]))
            await asyncio.to_thread(setup.fail_over)  # blocking: the loop keeps serving
            deadline = time.monotonic() + RESUME_WITHIN
            while True:  # the old primary refuses writes (READONLY) until we follow
                try:
                    await db.set("after-failover", "1")
                    break
                except (RedisConnectionError, TimeoutError, ReadOnlyError):
                    assert time.monotonic() < deadline, "no write reached the new primary"
                    await asyncio.sleep(0.1)
            got.append(await db.connection_pool.get_master_address())
            got.append(await db.Hash("h").as_dict(decode=True))
            got.append(await db.ZSet("z").as_items(decode=True))
            got.append(await db.lock("job").locked())
            # the script is not cached on the new primary: loaded there on first use
            got.append(await db.run_script("cache_incr", keys=["n"], args=[1, 0]))
            return got
        finally:
            await db.aclose()

    got = asyncio.run(main())
    # aclose also closed our connection to the sentinel: only the checking client is left
    with setup.sentinel_client() as sentinel:
        deadline = time.monotonic() + 5
        while (clients := sentinel.info("clients")["connected_clients"]) != 1:
            assert time.monotonic() < deadline, f"{clients - 1} connections left to the sentinel"
            time.sleep(0.05)
    old, new = ("127.0.0.1", setup.primary.port), ("127.0.0.1", setup.replica.port)
    assert got == [old, True, 5, new, {"a": "1", "b": "2"}, [("x", 1.0), ("y", 2.0)], True, 6]
    with setup.replica.client() as promoted:
        assert promoted.get("after-failover") == b"1"
