"""Point django_walrus at the test backend for every Django test, as a settings file would.

Every test here runs on three backends (the ``backend`` parameter):

- ``resp2``: the real test server (``redis_url``, a flushed logical DB) with
  ``WALRUS["default"]["OPTIONS"] = {"protocol": 2}`` and the ``prefixed`` cache's
  ``OPTIONS["CONNECTION_POOL_KWARGS"] = {"protocol": 2}`` (said explicitly: redis-py 8
  speaks RESP3 when no protocol is given);
- ``resp3``: the same with ``{"protocol": 3}``;
- ``memory``: the embedded engine, ``memory://<a name of this test's own>/0``, reset after.

Tests reach the backend through ``walrus_url`` (the configured URL), ``location_options``
(what a cache with its own ``LOCATION`` adds to its OPTIONS on this backend) and ``raw`` (a
plain client on the same data: redis-py for the server, a walrus ``Database`` for
``memory://``, which sees the same in-process data).

A test that relies on what only a real server does (TTL precision across processes, CONFIG,
CLIENT LIST, subprocesses, a dead port, replicas) says so: ``@pytest.mark.backends("resp2",
reason="...")`` runs it on ``resp2`` only, ``@pytest.mark.redis_only`` leaves ``memory`` out.
A test that takes ``redis_url`` itself must carry one of them (checked at collection).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

pytest.importorskip("django", reason="the django_walrus tests need Django (pip install django)")

from tests.support.front_end_backends import backend_url, parametrize_backend  # noqa: E402
from walrus import Database  # noqa: E402
from walrus.embedded import reset_memory_server  # noqa: E402


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backend(metafunc, "raw")


@pytest.fixture
def walrus_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """The URL this test's backend is configured with (a flushed DB / a fresh memory server)."""
    yield from backend_url(request, backend, "django")


@pytest.fixture
def connection_options(backend: str) -> dict[str, Any]:
    """The connection OPTIONS a settings file gives this backend (its protocol; none for
    memory://)."""
    return {"memory": {}, "resp2": {"protocol": 2}, "resp3": {"protocol": 3}}[backend]


@pytest.fixture
def location_options(connection_options: dict[str, Any]) -> dict[str, Any]:
    """What a cache with its own LOCATION adds to its OPTIONS on this backend."""
    return {"CONNECTION_POOL_KWARGS": dict(connection_options)} if connection_options else {}


@pytest.fixture(autouse=True)
def walrus_backend(
    settings: Any,
    walrus_url: str,
    connection_options: dict[str, Any],
    location_options: dict[str, Any],
) -> Iterator[str]:
    alias: dict[str, Any] = {"URL": walrus_url, "PREFIXES": ["app:"]}
    if connection_options:
        alias["OPTIONS"] = dict(connection_options)
    prefixed: dict[str, Any] = {
        "BACKEND": "django_walrus.cache.WalrusCache",
        "LOCATION": walrus_url,
        "KEY_PREFIX": "site2",
    }
    if location_options:
        prefixed["OPTIONS"] = dict(location_options)
    settings.WALRUS = {"default": alias}
    settings.CACHES = {
        "default": {"BACKEND": "django_walrus.cache.WalrusCache", "OPTIONS": {"ALIAS": "default"}},
        "prefixed": prefixed,
    }
    yield walrus_url


@pytest.fixture
def raw_for() -> Iterator[Callable[[str], redis.Redis]]:
    """``raw_for(url)``: a plain client on the data behind ``url`` (redis-py; for
    memory:// a walrus Database on the same in-process server), closed after the test."""
    clients: list[redis.Redis] = []

    def open_client(url: str) -> redis.Redis:
        client = (
            Database.from_url(url) if url.startswith("memory://") else redis.Redis.from_url(url)
        )
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def raw(raw_for: Callable[[str], redis.Redis], walrus_url: str) -> redis.Redis:
    """A plain client on the backend's data, to read and write keys beside the code under
    test."""
    return raw_for(walrus_url)


@pytest.fixture
def free_port_url() -> str:
    """A redis:// URL on a loopback port nothing listens on (Redis "down")."""
    from tests.support.redis_server import free_port

    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def silent_server_url() -> Iterator[str]:
    """A redis:// URL of a loopback listener that accepts connections (the kernel completes
    them into the backlog) and never answers: every command times out."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()


@pytest.fixture
def second_alias(
    settings: Any, request: pytest.FixtureRequest, backend: str, connection_options: dict[str, Any]
) -> Iterator[str]:
    """Adds WALRUS["other"] (PREFIXES ["o:"]) on another flushed database of the backend
    (another logical DB of the test server; another memory:// server); yields its URL."""
    if backend == "memory":
        name = f"django-other-{uuid.uuid4().hex}"
        url = f"memory://{name}/0"
        settings.WALRUS = {**settings.WALRUS, "other": {"URL": url, "PREFIXES": ["o:"]}}
        yield url
        reset_memory_server(name)
        return
    redis_server = request.getfixturevalue("redis_server")
    test_db = int(os.environ.get("WALRUS_TEST_DB", "9"))
    db = 11 if test_db != 11 else 8
    client = redis_server.client(db)
    client.flushdb()
    url = redis_server.url(db)
    other: dict[str, Any] = {"URL": url, "PREFIXES": ["o:"]}
    if connection_options:
        other["OPTIONS"] = dict(connection_options)
    settings.WALRUS = {**settings.WALRUS, "other": other}
    yield url
    client.flushdb()
    client.close()
