"""WalrusCache with read replicas: a real ``redis-server --replicaof`` started here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from django_walrus.cache import WalrusCache
from tests.support.redis_server import (
    RedisServer,
    free_port,
    start_redis_server,
    start_replica,
    wait_for_replica,
)

pytestmark = pytest.mark.backends("resp2", reason="a primary and a replica redis-server of its own")


@pytest.fixture
def primary_and_replica() -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = start_redis_server("--repl-diskless-sync-delay", "0")  # the replica syncs at once
    try:
        replica = start_replica(primary)
    except BaseException:
        primary.stop()
        raise
    try:
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


def _gets(server: RedisServer, command: str = "get") -> int:
    stats = server.client().info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def test_reads_go_to_the_replica_and_writes_to_the_primary(primary_and_replica: Any) -> None:
    primary, replica = primary_and_replica
    cache = WalrusCache([primary.url(0), replica.url(0)], {"OPTIONS": {"SIGN": False}})
    cache.set("page", {"html": "<p>hi</p>"})
    cache.set("n", 1)
    wait_for_replica(primary, replica)  # replicated before we read
    before = (_gets(primary), _gets(replica))
    assert cache.get("page") == {"html": "<p>hi</p>"}
    assert cache.get_many(["page", "n"]) == {"page": {"html": "<p>hi</p>"}, "n": 1}
    assert cache.has_key("page") and cache.ttl("page") is not None
    after = (_gets(primary), _gets(replica))
    assert after[0] == before[0] and after[1] == before[1] + 1  # the GET ran on the replica
    assert cache.incr("n") == 2  # a write: on the primary (a replica refuses writes)
    assert primary.client().get(":1:n") == b"2"


def test_a_replica_that_is_down_is_skipped(primary_and_replica: Any, caplog: Any) -> None:
    primary, replica = primary_and_replica
    dead = f"redis://127.0.0.1:{free_port()}/0"
    cache = WalrusCache(
        f"{primary.url(0)},{dead}", {"OPTIONS": {"SIGN": False, "SOCKET_TIMEOUT": 0.5}}
    )
    cache.set("k", "v")
    assert [cache.get("k") for _ in range(4)] == ["v"] * 4  # no error: the primary answered
    assert "replica" in caplog.text and "is down" in caplog.text
    replica.stop()
    both = WalrusCache(
        [primary.url(0), replica.url(0)], {"OPTIONS": {"SIGN": False, "SOCKET_TIMEOUT": 0.5}}
    )
    assert both.get("k") == "v"


def test_replica_options_are_checked(primary_and_replica: Any) -> None:
    primary, replica = primary_and_replica
    replicas = WalrusCache(
        primary.url(0), {"OPTIONS": {"REPLICAS": [replica.url(0)], "SIGN": False}}
    )
    replicas.set("a", 1)
    wait_for_replica(primary, replica)  # replicated before we read
    before = _gets(replica)
    assert replicas.get("a") == 1 and _gets(replica) == before + 1
    for location, options, match in [
        ([primary.url(0), "http://nope"], {}, "LOCATION"),
        (primary.url(0), {"REPLICAS": "redis://h/0"}, "REPLICAS"),
        (primary.url(0), {"REPLICAS": ["redis://h:x/0"]}, "REPLICAS"),
    ]:
        broken = WalrusCache(location, {"OPTIONS": options})
        with pytest.raises(Exception, match=match):
            broken.get("a")
    assert redis.Redis.from_url(primary.url(0)).dbsize() == 1
