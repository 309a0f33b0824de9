"""Test harness: a real redis-server for the session, a flushed logical DB per test.

Tests that take the ``db`` fixture run on up to four backends: the real server over RESP2,
over RESP3, the embedded ``memory://`` engine (mark a test ``redis_only`` to skip it) and,
for the core suites, a real local 3-primary Redis Cluster (``redis+cluster://``; started
only when such a test runs, all primaries flushed around each test). ``cluster_backend.py``
lists the core tests that cannot run on a cluster and why; ``single_node("why")`` marks
one too. ``WALRUS_TEST_REDIS_URL`` points the suite at an existing server instead of
starting one (the cluster is always a throwaway local one).
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_backend import cluster_exclusion, unavailable  # noqa: E402
from cluster_server import LocalCluster, start_cluster  # noqa: E402
from redis_server import RedisServer, start_redis_server  # noqa: E402

from walrus import Database  # noqa: E402
from walrus.embedded import reset_memory_server  # noqa: E402

# A dedicated logical database: tests never touch DB 0 of a server they did not start.
TEST_DB = int(os.environ.get("WALRUS_TEST_DB", "9"))
BACKENDS = ("resp2", "resp3", "memory", "cluster")


def pytest_configure(config: pytest.Config) -> None:
    # Registered here, beside the code that reads it (pyproject's marker list is shared).
    config.addinivalue_line(
        "markers",
        "single_node(reason): do not run this db test on the cluster backend (say why)",
    )


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
def redis_cluster() -> Iterator[LocalCluster]:
    """The session's local 3-primary Redis Cluster on free loopback ports, started on first
    use (about 2-4 s) and stopped by pid at the end. Skipped locally without redis-server /
    redis-cli; a failure under CI."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        unavailable("redis-server / redis-cli not on PATH")
    try:
        cluster = start_cluster(3)
    except (FileNotFoundError, RuntimeError) as exc:
        unavailable(f"could not start a local cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


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
        backends: list[Any] = list(BACKENDS)
        if metafunc.definition.get_closest_marker("redis_only"):
            backends.remove("memory")
        backends.remove("cluster")
        if cluster_exclusion(metafunc) is None:
            # Marked, so that ``-m cluster`` selects it and ``-m "not cluster"`` leaves it out.
            backends.append(pytest.param("cluster", marks=pytest.mark.cluster))
        metafunc.parametrize("backend", backends, scope="function")


@pytest.fixture
def backend() -> str:  # replaced by the parametrisation above
    return "resp2"


@pytest.fixture
def db(request: pytest.FixtureRequest, backend: str) -> Iterator[Database]:
    """A walrus Database on a flushed DB: real server (RESP2 or RESP3), memory://, or the
    session's local Redis Cluster (every primary flushed)."""
    if backend == "memory":
        name = f"test-{uuid.uuid4().hex}"
        database = Database.from_url(f"memory://{name}/{TEST_DB}")
        yield database
        database.close()
        reset_memory_server(name)
        return
    if backend == "cluster":
        yield from _cluster_database(request)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    _check_min_redis(request, server)
    protocol = 3 if backend == "resp3" else 2
    database = Database(host=server.host, port=server.port, db=TEST_DB, protocol=protocol)
    database.flushdb()
    yield database
    database.flushdb()
    database.close()


def _check_min_redis(request: pytest.FixtureRequest, server: RedisServer) -> None:
    marker = request.node.get_closest_marker("min_redis")
    if marker is not None:
        wanted = tuple(int(p) for p in str(marker.args[0]).split("."))
        if server.version < wanted:
            pytest.skip(f"needs Redis >= {marker.args[0]}")


def _cluster_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    # Looked up here rather than declared, so the cluster starts only if a cluster test runs.
    cluster: LocalCluster = request.getfixturevalue("redis_cluster")
    _check_min_redis(request, cluster.nodes[0])
    # A fresh client per test (about 0.1 s: redis-py reads the slot map and COMMAND), so no
    # test sees another's loaded-script or transaction state.
    database = Database.from_url(cluster.url())
    # The fixture owns this throwaway cluster: FLUSHALL on every primary is safe.
    database.flushall()  # redis-py sends it to every primary
    yield database
    try:
        database.flushall()
    except redis.RedisError:  # the test broke its client: flush through plain ones
        cluster.flushall()
    database.close()


@pytest.fixture
def raw_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain redis-py client on the test DB of the real server."""
    client = redis_server.client(TEST_DB)
    yield client
    client.close()
