"""Flask apps wired to the real test server (``redis_url``: a flushed logical DB)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("flask", reason="the flask_walrus tests need Flask (pip install flask)")

from flask import Flask  # noqa: E402

from flask_walrus import Walrus  # noqa: E402

AppFactory = Callable[..., tuple[Flask, Walrus]]


@pytest.fixture
def make_app(redis_url: str) -> AppFactory:
    """``make_app(ext=None, name="test", **config)`` -> (app, ext) on the test DB."""

    def factory(
        ext: Walrus | None = None, name: str = "test", **config: Any
    ) -> tuple[Flask, Walrus]:
        app = Flask(name)
        app.config.update(TESTING=True, WALRUS_URL=redis_url)
        app.config.update(config)
        ext = ext if ext is not None else Walrus()
        ext.init_app(app)
        return app, ext

    return factory


@pytest.fixture
def free_port_url() -> str:
    """A redis:// URL on a loopback port nothing listens on (Redis "down")."""
    from tests.support.redis_server import free_port

    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def memory_url() -> Iterator[str]:
    import uuid

    from walrus.embedded import reset_memory_server

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
