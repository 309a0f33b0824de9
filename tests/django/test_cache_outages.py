"""WalrusCache on a bad day: IGNORE_EXCEPTIONS (timeouts and outages only) and close()."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import cache, caches, close_caches

from django_walrus import get_database


def _cache_settings(location: str, **options: Any) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": location,
            "OPTIONS": options,
        }
    }


@pytest.mark.backends("resp2", reason="a silent listener: no backend takes part")
def test_timeout_is_a_logged_miss(settings: Any, silent_server_url: str, caplog: Any) -> None:
    settings.CACHES = _cache_settings(
        silent_server_url, IGNORE_EXCEPTIONS=True, SOCKET_TIMEOUT=0.2, SOCKET_CONNECT_TIMEOUT=0.2
    )
    # Checked first: without the timeout on the pool the calls below would wait for ever.
    assert cache.database.connection_pool.connection_kwargs["socket_timeout"] == 0.2
    with caplog.at_level(logging.WARNING, logger="django_walrus.cache"):
        assert cache.get("k", "fallback") == "fallback"
        assert cache.set("k", 1) is None
        assert cache.add("k", 1) is False
        assert cache.get_many(["a", "b"]) == {}
        assert cache.has_key("k") is False
        assert cache.delete("k") is False
        assert cache.keys("*") == []
        assert list(cache.iter_keys("*")) == []
    assert len(caplog.records) == 8
    # The real exception travels with the record (for Sentry & co), not only its text.
    for record in caplog.records:
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], redis.TimeoutError)
        assert "TimeoutError" in record.getMessage()


@pytest.mark.backends("resp2", reason="a silent listener: no backend takes part")
def test_timeout_raises_without_the_option(settings: Any, silent_server_url: str) -> None:
    settings.CACHES = _cache_settings(silent_server_url, SOCKET_TIMEOUT=0.2)
    assert cache.database.connection_pool.connection_kwargs["socket_timeout"] == 0.2
    with pytest.raises(redis.TimeoutError):
        cache.get("k")
    with pytest.raises(redis.TimeoutError):
        cache.keys("*")


def test_reply_errors_still_raise(
    settings: Any, walrus_url: str, location_options: dict[str, Any], raw: redis.Redis
) -> None:
    settings.CACHES = _cache_settings(walrus_url, IGNORE_EXCEPTIONS=True, **location_options)
    raw.rpush(":1:a-list", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        cache.get("a-list")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        cache.get_or_set("a-list", 1)


@pytest.fixture
def acl_user(redis_server: Any) -> Iterator[str]:
    """A Redis ACL user with a known password (removed afterwards); yields its name."""
    if redis_server.version < (6,):
        pytest.skip("ACL users need Redis >= 6")
    name = f"walrus-{uuid.uuid4().hex[:8]}"
    admin = redis_server.client()
    admin.acl_setuser(
        name, enabled=True, passwords=["+right-password"], keys=["*"], commands=["+@all"]
    )
    yield name
    admin.acl_deluser(name)
    admin.close()


@pytest.mark.redis_only(reason="ACL users of a real server")
def test_refused_credentials_are_never_ignored(
    settings: Any, redis_url: str, location_options: dict[str, Any], acl_user: str
) -> None:
    # AuthenticationError subclasses ConnectionError in redis-py; it is a configuration error.
    url = redis_url.replace("redis://", f"redis://{acl_user}:wrong-password@", 1)
    settings.CACHES = _cache_settings(url, IGNORE_EXCEPTIONS=True, **location_options)
    with pytest.raises(redis.AuthenticationError):
        cache.get("k")
    good = url.replace("wrong-password", "right-password")
    settings.CACHES = _cache_settings(good, IGNORE_EXCEPTIONS=True, **location_options)
    assert cache.get("k", "miss") == "miss"


def test_close_keeps_connections_by_default(
    settings: Any, walrus_url: str, location_options: dict[str, Any]
) -> None:
    settings.CACHES = _cache_settings(walrus_url, **location_options)
    before = cache.database.client_id()
    close_caches()  # Django's request_finished receiver: every cache closes after a request
    assert cache.database.client_id() == before


def test_close_connection_disconnects_the_own_pool(
    settings: Any, walrus_url: str, location_options: dict[str, Any]
) -> None:
    settings.CACHES = _cache_settings(walrus_url, CLOSE_CONNECTION=True, **location_options)
    cache.set("k", 1)
    before = cache.database.client_id()
    close_caches()
    after = cache.database.client_id()  # a new connection: the old one was closed
    assert after != before
    assert cache.get("k") == 1


def test_alias_cache_close_leaves_the_shared_pool() -> None:
    assert caches["default"].database is get_database()
    before = get_database().client_id()
    caches["default"].close()
    close_caches()
    assert get_database().client_id() == before


def test_get_or_set_runs_a_failing_default_once(
    settings: Any, walrus_url: str, location_options: dict[str, Any], caplog: Any
) -> None:
    """default() whose own Redis call fails: its error is raised, not taken for a cache outage
    (IGNORE_EXCEPTIONS would otherwise run default() a second time, its writes twice)."""
    settings.CACHES = _cache_settings(walrus_url, IGNORE_EXCEPTIONS=True, **location_options)
    calls: list[int] = []

    def default() -> int:
        calls.append(1)
        raise redis.ConnectionError("the view's own Redis call failed")

    with caplog.at_level(logging.WARNING, logger="django_walrus.cache"):
        with pytest.raises(redis.ConnectionError, match="the view's own Redis call"):
            cache.get_or_set(f"k-{uuid.uuid4().hex}", default)
    assert calls == [1]
    assert not [r for r in caplog.records if "treated as a miss" in r.getMessage()]
