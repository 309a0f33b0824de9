"""Point django_walrus at the real test server for every Django test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


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
    from redis_server import free_port

    return f"redis://127.0.0.1:{free_port()}/0"
