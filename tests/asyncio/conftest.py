"""Backends of the asyncio suite: the real server over RESP2 and RESP3, and memory://."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from walrus import Database
from walrus.embedded import reset_memory_server

TEST_DB = 9


@pytest.fixture(params=["resp2", "resp3", "memory"])
def async_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL for ``AsyncDatabase.from_url`` on a flushed DB of the given backend (a sync
    ``Database.from_url`` of the same URL sees the same data)."""
    if request.param == "memory":
        name = f"async-{uuid.uuid4().hex}"
        yield f"memory://{name}/0"
        reset_memory_server(name)
        return
    server: Any = request.getfixturevalue("redis_server")
    url = server.url(TEST_DB) + ("?protocol=3" if request.param == "resp3" else "")
    flush = Database.from_url(url)
    flush.flushdb()
    yield url
    flush.flushdb()
    flush.close()
