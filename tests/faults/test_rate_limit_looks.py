"""A rate-limit look writes nothing, so it runs the script's read-only variant (rate_limit@ro,
``#!lua flags=no-writes``): a read-only replica and a server over maxmemory answer it, while
a hit is still refused there with the server's error type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_server import (
    RedisServer,
    start_redis_server,
    start_replica,
    wait_for_replica,
)
from walrus import Database
from walrus.rate_limit import STRATEGIES
from walrus.scripts import load_script_source


@pytest.fixture
def primary() -> Iterator[RedisServer]:
    started = start_redis_server("--repl-diskless-sync-delay", "0")  # a replica syncs at once
    try:
        yield started
    finally:
        started.stop()


def test_the_read_only_variant_is_the_same_script_declared_no_writes() -> None:
    source = load_script_source("rate_limit")
    variant = load_script_source("rate_limit@ro")
    assert source is not None and variant is not None
    assert variant.startswith("#!lua flags=no-writes\n")
    assert variant.partition("\n")[2] == source.partition("\n")[2]
    assert load_script_source("no_such_script@ro") is None


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_replica_answers_looks_and_refuses_hits(primary: RedisServer, strategy: str) -> None:
    replica = start_replica(primary)
    try:
        db = Database.from_url(primary.url(0))
        limit = db.rate_limit("api", limit=5, per=60, strategy=strategy)
        for _ in range(2):
            limit.limit("ann")
        wait_for_replica(primary, replica)  # the replica has both hits
        on_replica = Database.from_url(replica.url(0)).rate_limit(
            "api", limit=5, per=60, strategy=strategy
        )
        assert on_replica.remaining("ann") == 3
        with pytest.raises(redis.exceptions.ReadOnlyError):
            on_replica.limit("ann")
    finally:
        replica.stop()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_full_server_answers_looks_and_refuses_hits(primary: RedisServer, strategy: str) -> None:
    db = Database.from_url(primary.url(0))
    limit = db.rate_limit("api", limit=5, per=60, strategy=strategy)
    limit.limit("ann")
    raw = primary.client()
    raw.config_set("maxmemory-policy", "noeviction")
    raw.config_set("maxmemory", str(int(raw.info("memory")["used_memory"]) // 2))
    try:
        assert limit.remaining("ann") == 4
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            limit.limit("ann")
        assert limit.remaining("ann") == 4  # nothing was recorded
    finally:
        raw.config_set("maxmemory", "0")
