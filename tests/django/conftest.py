"""Point django_walrus at the real test server for every Django test."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("django", reason="the django_walrus tests need Django (pip install django)")


@pytest.fixture(autouse=True)
def walrus_on_real_server(settings: Any, redis_url: str) -> Iterator[str]:
    settings.WALRUS = {"default": {"URL": redis_url, "PREFIXES": ["app:"]}}
    settings.CACHES = {
        "default": {"BACKEND": "django_walrus.cache.WalrusCache", "OPTIONS": {"ALIAS": "default"}},
        "prefixed": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "site2",
        },
    }
    yield redis_url


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
def second_alias(settings: Any, redis_server: Any) -> Iterator[str]:
    """Adds WALRUS["other"] (PREFIXES ["o:"]) on another flushed logical DB of the test
    server; yields its URL."""
    test_db = int(os.environ.get("WALRUS_TEST_DB", "9"))
    db = 11 if test_db != 11 else 8
    client = redis_server.client(db)
    client.flushdb()
    url = redis_server.url(db)
    settings.WALRUS = {**settings.WALRUS, "other": {"URL": url, "PREFIXES": ["o:"]}}
    yield url
    client.flushdb()
    client.close()
