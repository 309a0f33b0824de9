"""Fixtures of the limpyd tests: databases on a flushed logical DB of the session's server.

``limpyd_db`` (a ``RedisDatabase``) and ``pipeline_db`` (a ``PipelineDatabase``) run each test
over RESP2 and RESP3; ``raw`` is a plain redis-py client on the same DB to inspect keys;
``helpers`` gives index-consistency and snapshot assertions.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from limpyd.contrib.database import PipelineDatabase
from limpyd.database import RedisDatabase
from tests.support.redis_server import RedisServer

LIMPYD_TEST_DB = 10


def index_state(raw: redis.Redis, model: Any, field: str) -> dict[str, set[str]]:
    """Index sets of ``model.field`` as ``{value: pks}`` (read with SCAN)."""
    prefix = model.get_field(field).index_prefix
    found: dict[str, set[str]] = {}
    for key in raw.scan_iter(match=prefix.replace("*", r"\*") + "*", count=1000):
        members = raw.smembers(key)
        if members:
            found[key[len(prefix) :]] = set(members)
    return found


def expected_index(raw: redis.Redis, model: Any, field: str) -> dict[str, set[str]]:
    """What the index sets of ``model.field`` must hold, from the stored values."""
    declared = model.get_field(field)
    expected: dict[str, set[str]] = {}
    for pk in raw.smembers(model._collection_key()):
        key = declared._key_for(pk)
        kind = declared.kind
        if kind == "hash":
            value = raw.hget(key, field)
            values = [] if value is None else [value]
        elif kind == "string":
            value = raw.get(key)
            values = [] if value is None else [value]
        elif kind == "set":
            values = list(raw.smembers(key))
        elif kind == "list":
            values = raw.lrange(key, 0, -1)
        else:
            values = raw.zrange(key, 0, -1)
        for value in values:
            expected.setdefault(value, set()).add(pk)
    return expected


def assert_index_consistent(raw: redis.Redis, model: Any, field: str) -> None:
    assert index_state(raw, model, field) == expected_index(raw, model, field)


def snapshot(raw: redis.Redis) -> dict[str, Any]:
    """Every key of the test DB with its type and content."""
    data: dict[str, Any] = {}
    for key in raw.scan_iter(count=1000):
        kind = raw.type(key)
        if kind == "string":
            data[key] = raw.get(key)
        elif kind == "hash":
            data[key] = raw.hgetall(key)
        elif kind == "set":
            data[key] = raw.smembers(key)
        elif kind == "list":
            data[key] = raw.lrange(key, 0, -1)
        elif kind == "zset":
            data[key] = raw.zrange(key, 0, -1, withscores=True)
    return data


@pytest.fixture
def helpers() -> types.SimpleNamespace:
    """The assertion helpers above, for tests (conftest modules are not importable)."""
    return types.SimpleNamespace(
        index_state=index_state,
        expected_index=expected_index,
        assert_index_consistent=assert_index_consistent,
        snapshot=snapshot,
    )


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A decoding redis-py client on the limpyd test DB, flushed before and after the test."""
    client = redis.Redis(
        host=redis_server.host,
        port=redis_server.port,
        db=LIMPYD_TEST_DB,
        decode_responses=True,
        encoding_errors="surrogateescape",
    )
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def limpyd_db(
    redis_server: RedisServer, raw: redis.Redis, protocol: int
) -> Iterator[RedisDatabase]:
    database = RedisDatabase(
        host=redis_server.host, port=redis_server.port, db=LIMPYD_TEST_DB, protocol=protocol
    )
    yield database
    database.close()


@pytest.fixture
def pipeline_db(
    redis_server: RedisServer, raw: redis.Redis, protocol: int
) -> Iterator[PipelineDatabase]:
    database = PipelineDatabase(
        host=redis_server.host, port=redis_server.port, db=LIMPYD_TEST_DB, protocol=protocol
    )
    yield database
    database.close()
