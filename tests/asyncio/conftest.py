"""Backends of the asyncio suite: the real server over RESP2 and RESP3, memory://, and the
local Redis Cluster (marked ``cluster``; a test marked ``single_node("why")`` leaves it out)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from walrus import Database
from walrus.embedded import reset_memory_server

TEST_DB = 9
_BACKENDS = ["resp2", "resp3", "memory"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "async_url" not in metafunc.fixturenames:
        return
    backends: list[Any] = list(_BACKENDS)
    if metafunc.definition.get_closest_marker("single_node") is None:
        backends.append(pytest.param("cluster", marks=pytest.mark.cluster))
    metafunc.parametrize("async_url", backends, indirect=True)


@pytest.fixture
def async_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL for ``AsyncDatabase.from_url`` on a flushed DB of the given backend (a sync
    ``Database.from_url`` of the same URL sees the same data)."""
    if request.param == "memory":
        name = f"async-{uuid.uuid4().hex}"
        yield f"memory://{name}/0"
        reset_memory_server(name)
        return
    if request.param == "cluster":
        cluster: Any = request.getfixturevalue("redis_cluster")
        cluster.flushall()
        yield cluster.url()
        cluster.flushall()
        return
    server: Any = request.getfixturevalue("redis_server")
    url = server.url(TEST_DB) + ("?protocol=3" if request.param == "resp3" else "")
    flush = Database.from_url(url)
    flush.flushdb()
    yield url
    flush.flushdb()
    flush.close()
