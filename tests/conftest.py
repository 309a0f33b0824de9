"""Test harness: a real redis-server for the session, a flushed logical DB per test.

Tests that take the ``db`` fixture run three times: on the real server over RESP2, over RESP3,
and on the embedded ``memory://`` engine (mark a test ``redis_only`` to skip the last one).
``WALRUS_TEST_REDIS_URL`` points the suite at an existing server instead of starting one.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from redis_server import RedisServer, start_redis_server  # noqa: E402

from walrus import Database  # noqa: E402
from walrus.embedded import reset_memory_server  # noqa: E402

# A dedicated logical database: tests never touch DB 0 of a server they did not start.
TEST_DB = int(os.environ.get("WALRUS_TEST_DB", "9"))
BACKENDS = ("resp2", "resp3", "memory")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's real server: from WALRUS_TEST_REDIS_URL, or a throwaway one we start."""
    url = os.environ.get("WALRUS_TEST_REDIS_URL")
    if url:
        parsed = urlparse(url)
        yield RedisServer(parsed.hostname or "127.0.0.1", parsed.port or 6379)
        return
    try:
        server = start_redis_server()
    except (FileNotFoundError, RuntimeError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a real redis-server and none could be started: {exc}")
        pytest.skip(f"no redis-server available: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_version(redis_server: RedisServer) -> tuple[int, ...]:
    return redis_server.version


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """URL of the flushed test DB on the real server (for integrations that take a URL)."""
    client = redis_server.client(TEST_DB)
    client.flushdb()
    yield redis_server.url(TEST_DB)
    client.flushdb()
    client.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db" in metafunc.fixturenames:
        backends = list(BACKENDS)
        if metafunc.definition.get_closest_marker("redis_only"):
            backends.remove("memory")
        metafunc.parametrize("backend", backends, scope="function")


@pytest.fixture
def backend() -> str:  # replaced by the parametrisation above
    return "resp2"


@pytest.fixture
def db(request: pytest.FixtureRequest, backend: str) -> Iterator[Database]:
    """A walrus Database on a flushed DB: real server (RESP2 or RESP3) or memory://."""
    if backend == "memory":
        name = f"test-{uuid.uuid4().hex}"
        database = Database.from_url(f"memory://{name}/{TEST_DB}")
        yield database
        database.close()
        reset_memory_server(name)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    marker = request.node.get_closest_marker("min_redis")
    if marker is not None:
        wanted = tuple(int(p) for p in str(marker.args[0]).split("."))
        if server.version < wanted:
            pytest.skip(f"needs Redis >= {marker.args[0]}")
    protocol = 3 if backend == "resp3" else 2
    database = Database(host=server.host, port=server.port, db=TEST_DB, protocol=protocol)
    database.flushdb()
    yield database
    database.flushdb()
    database.close()


@pytest.fixture
def raw_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain redis-py client on the test DB of the real server."""
    client = redis_server.client(TEST_DB)
    yield client
    client.close()
