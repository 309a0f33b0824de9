"""Flask apps wired to the test backend, as an app's config would be.

A test that takes ``make_app``, ``walrus_url``, ``raw_client`` or ``backend`` runs on three
backends (the ``backend`` parameter):

- ``resp2``: the real test server (``redis_url``, a flushed logical DB) with
  ``WALRUS_CONNECTION_OPTIONS = {"protocol": 2}`` (said explicitly: redis-py 8 speaks RESP3
  when no protocol is given);
- ``resp3``: the same with ``{"protocol": 3}``;
- ``memory``: the embedded engine, ``WALRUS_URL = "memory://<a name of this test's own>/0"``,
  reset after.

``raw_client`` is a plain client on the same data (redis-py on the server; for memory:// a
walrus ``Database``, which sees the same in-process data). A test that relies on what only a
real server does says so: ``@pytest.mark.backends("resp2", reason="...")`` runs it on
``resp2`` only, ``@pytest.mark.redis_only`` leaves ``memory`` out. A test of these backends
that takes ``redis_url`` itself must carry one of them (checked at collection).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

pytest.importorskip("flask", reason="the flask_walrus tests need Flask (pip install flask)")

from flask import Flask  # noqa: E402

from flask_walrus import Walrus  # noqa: E402
from tests.support.front_end_backends import backend_url, parametrize_backend  # noqa: E402
from walrus import Database  # noqa: E402
from walrus.embedded import reset_memory_server  # noqa: E402

AppFactory = Callable[..., tuple[Flask, Walrus]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backend(metafunc, "raw_client")


@pytest.fixture
def walrus_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """The WALRUS_URL of this test's backend (a flushed DB / a fresh memory server)."""
    yield from backend_url(request, backend, "flask")


@pytest.fixture
def connection_options(backend: str) -> dict[str, Any]:
    """The WALRUS_CONNECTION_OPTIONS of this backend (its protocol; none for memory://)."""
    return {"memory": {}, "resp2": {"protocol": 2}, "resp3": {"protocol": 3}}[backend]


@pytest.fixture
def make_app(walrus_url: str, connection_options: dict[str, Any]) -> AppFactory:
    """``make_app(ext=None, name="test", **config)`` -> (app, ext) on the test backend. The
    backend's connection options are merged under a WALRUS_CONNECTION_OPTIONS given here."""

    def factory(
        ext: Walrus | None = None, name: str = "test", **config: Any
    ) -> tuple[Flask, Walrus]:
        app = Flask(name)
        app.config.update(TESTING=True, WALRUS_URL=walrus_url)
        if connection_options:
            given = config.pop("WALRUS_CONNECTION_OPTIONS", None) or {}
            app.config["WALRUS_CONNECTION_OPTIONS"] = {**connection_options, **given}
        app.config.update(config)
        ext = ext if ext is not None else Walrus()
        ext.init_app(app)
        return app, ext

    return factory


@pytest.fixture
def raw_client(walrus_url: str) -> Iterator[redis.Redis]:
    """A plain client on the backend's data (redis-py; for memory:// a walrus Database
    on the same in-process server), to read and write keys beside the app."""
    if walrus_url.startswith("memory://"):
        client: redis.Redis = Database.from_url(walrus_url)
    else:
        client = redis.Redis.from_url(walrus_url)
    yield client
    client.close()


@pytest.fixture
def free_port_url() -> str:
    """A redis:// URL on a loopback port nothing listens on (Redis "down")."""
    from tests.support.redis_server import free_port

    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A memory:// URL of a server of this test's own (reset after)."""
    name = f"flask-{uuid.uuid4().hex}"
    yield f"memory://{name}/0"
    reset_memory_server(name)


@pytest.fixture
def second_redis_url(redis_server: Any, redis_url: str) -> Iterator[str]:
    """A URL of another logical DB on the test server than ``redis_url``'s. The DB is not
    flushed (it may hold someone else's data on a server the suite did not start): tests
    using it write under a key prefix of their own and delete exactly that prefix."""
    db = int(redis_url.rsplit("/", 1)[1])
    yield redis_server.url(db + 1 if db < 15 else db - 1)
