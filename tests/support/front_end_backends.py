"""The backends the Django and Flask suites run on (RESP2, RESP3, memory://), for their
conftests: which backends one test gets, and the URL of each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from walrus.embedded import reset_memory_server

FRONT_END_BACKENDS = ("resp2", "resp3", "memory")
"""The backends a front-end test that uses the backend runs on, unless marked."""


def parametrize_backend(metafunc: pytest.Metafunc, raw_fixture: str) -> None:
    """``pytest_generate_tests`` of a front-end folder: parametrize ``backend`` (tests taking
    the root's ``db`` are parametrised by the root conftest)."""
    if "backend" not in metafunc.fixturenames or "db" in metafunc.fixturenames:
        return
    metafunc.parametrize("backend", front_end_backends(metafunc, raw_fixture), scope="function")


def front_end_backends(metafunc: pytest.Metafunc, raw_fixture: str) -> list[str]:
    """The backends of one test: all three, less ``memory`` for ``redis_only``, only those
    named by ``backends(*names, reason=...)``. A test taking ``redis_url`` must be marked
    (``raw_fixture`` names the folder's backend-following raw client in the message)."""
    node = metafunc.definition
    backends = list(FRONT_END_BACKENDS)
    if node.get_closest_marker("redis_only"):
        backends.remove("memory")
    only = node.get_closest_marker("backends")
    if only is not None:
        if not only.kwargs.get("reason"):
            raise pytest.UsageError(f"{node.nodeid}: backends(...) needs reason='why'")
        backends = [b for b in backends if b in only.args]
    if "memory" in backends and "redis_url" in metafunc.fixturenames:
        raise pytest.UsageError(
            f"{node.nodeid} takes redis_url but would run on memory://: use walrus_url/"
            f"{raw_fixture}, or mark it backends('resp2', reason=...) or redis_only"
        )
    return backends


def backend_url(request: pytest.FixtureRequest, backend: str, prefix: str) -> Iterator[str]:
    """The URL of ``backend``: a fresh ``memory://<prefix>-<uuid>/0`` server (dropped after
    the test) or the real server's flushed test DB."""
    if backend == "memory":
        name = f"{prefix}-{uuid.uuid4().hex}"
        yield f"memory://{name}/0"
        reset_memory_server(name)
    else:
        yield request.getfixturevalue("redis_url")
