"""WalrusCache's a* methods with read replicas: natively on each replica's per-loop async
client (no thread), in the sync reads' turns, a replica that is down skipped."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from django_walrus import cache_async
from django_walrus.cache import WalrusCache
from tests.django.test_cache_replicas import _gets, primary_and_replica
from tests.support.redis_server import free_port, wait_for_replica

__all__ = ["primary_and_replica"]  # the fixture, shared with the sync replica tests

pytestmark = pytest.mark.backends("resp2", reason="a primary and a replica redis-server of its own")


def test_async_reads_go_to_the_replica_in_the_loop(primary_and_replica: Any) -> None:
    primary, replica = primary_and_replica
    cache = WalrusCache(primary.url(0), {"OPTIONS": {"REPLICAS": [replica.url(0)], "SIGN": False}})

    async def main() -> tuple[list[Any], set[int], tuple[int, int], tuple[int, int]]:
        await cache.aset("page", {"html": "<p>hi</p>"})
        await cache.aset("n", 1)
        wait_for_replica(primary, replica)  # replicated before we read
        client = cache_async._replica_clients(cache)[0]
        threads: set[int] = set()
        original, original_read = client.execute_command, client.execute_read

        async def spy(*args: Any, **kwargs: Any) -> Any:
            threads.add(threading.get_ident())
            return await original(*args, **kwargs)

        async def spy_read(*args: Any) -> Any:  # the reads batched with other tasks'
            threads.add(threading.get_ident())
            return await original_read(*args)

        client.execute_read = spy_read  # type: ignore[method-assign]
        client.execute_command = spy  # type: ignore[method-assign]
        before = (_gets(primary), _gets(replica))
        mget_before = _gets(replica, "mget")
        got: list[Any] = [await cache.aget("page"), await cache.aget_many(["page", "n"])]
        got.append(await cache.ahas_key("page"))
        after = (_gets(primary), _gets(replica))
        got.append(await cache.aincr("n"))  # a write: on the primary
        mgets = (mget_before, _gets(replica, "mget"))
        await cache.aclose()
        return got, threads, (before[1], after[1]), mgets

    got, threads, gets, mgets = asyncio.run(main())
    assert got == [{"html": "<p>hi</p>"}, {"page": {"html": "<p>hi</p>"}, "n": 1}, True, 2]
    assert threads == {threading.get_ident()}  # sent from the loop's thread: no hop
    assert gets[1] == gets[0] + 1 and mgets[1] == mgets[0] + 1  # GET and MGET on the replica
    assert primary.client().get(":1:n") == b"2"


def test_an_async_read_skips_a_replica_that_is_down(primary_and_replica: Any, caplog: Any) -> None:
    primary, _replica = primary_and_replica
    dead = f"redis://127.0.0.1:{free_port()}/0"
    cache = WalrusCache(
        f"{primary.url(0)},{dead}", {"OPTIONS": {"SIGN": False, "SOCKET_TIMEOUT": 0.5}}
    )
    cache.set("k", "v")

    async def main() -> list[Any]:
        got = [await cache.aget("k") for _ in range(4)]  # the primary answers
        await cache.aclose()
        return got

    assert asyncio.run(main()) == ["v"] * 4
    assert "replica" in caplog.text and "is down" in caplog.text
    assert caplog.text.count("is down") == 1  # skipped for REPLICA_RETRY_AFTER once found down
