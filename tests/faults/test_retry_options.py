"""Reconnection options and the resend table (#25 part 1): what is resent, how the options are
set (keywords, URL query, Django WALRUS / cache OPTIONS, Flask config) and that bad values
are refused with the option's name before anything connects."""

from __future__ import annotations

from typing import Any

import pytest
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from walrus import Database
from walrus.retry import OutcomeUnknownError, WalrusRetry, command_resend_safe

NOWHERE = "redis://127.0.0.1:9/0"  # nothing listens on port 9: building must not connect


@pytest.mark.parametrize(
    "args",
    [
        ("GET", "k"),
        ("HGETALL", "h"),
        ("ZRANGE", "z", 0, -1),
        ("SCAN", 0),
        ("EXISTS", "k"),
        ("TTL", "k"),
        ("SET", "k", "v"),
        ("SET", "k", "v", "EX", 10),
        ("SET", "k", "v", "XX"),
        ("DEL", "k"),
        ("EXPIRE", "k", 5),
        ("HSET", "h", "f", "v"),
        ("ZADD", "z", 1, "m"),
        ("CLIENT SETNAME", "x"),
        ("EVAL", "#!lua flags=no-writes\nreturn 1", 0),
        ("PING",),
        ("CLUSTER SLOTS",),
        ("CLUSTER", "NODES"),
    ],
)
def test_resent_after_a_lost_reply(args: tuple[Any, ...]) -> None:
    assert command_resend_safe(args)


@pytest.mark.parametrize(
    "args",
    [
        ("INCR", "k"),
        ("INCRBY", "k", 2),
        ("LPUSH", "l", "x"),
        ("SET", "k", "v", "NX"),
        ("SET", "k", "v", "GET"),
        ("SETNX", "k", "v"),
        ("ZADD", "z", "INCR", 1, "m"),
        ("EXPIRE", "k", 5, "NX"),
        ("EVAL", "return redis.call('INCR', KEYS[1])", 1, "k"),
        ("EVALSHA", "0" * 40, 0),
        ("PUBLISH", "c", "m"),
        ("CLIENT KILL", "ID", 1),
        ("NOSUCH",),
        ("CLUSTER", "FAILOVER"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
    ],
)
def test_not_resent_after_a_lost_reply(args: tuple[Any, ...]) -> None:
    assert not command_resend_safe(args)


def test_outcome_unknown_is_a_connection_error() -> None:
    import redis

    from walrus import WalrusError

    assert issubclass(OutcomeUnknownError, redis.ConnectionError)
    assert issubclass(OutcomeUnknownError, WalrusError)


def _retry(db: Database) -> Any:
    return db.connection_pool.connection_kwargs["retry"]


def _retries(retry: Any) -> int:
    return int(retry._retries)  # Retry.get_retries() is newer than redis-py 5.0


def test_default_and_explicit_options() -> None:
    db = Database.from_url(NOWHERE)
    assert isinstance(_retry(db), WalrusRetry) and _retries(_retry(db)) == 3 and not db.request_ids
    db = Database.from_url(NOWHERE, retries=7, retry_backoff=0, request_ids=True)
    assert _retries(_retry(db)) == 7 and db.request_ids
    db = Database.from_url(
        NOWHERE + "?retries=2&retry_backoff=0.1&request_ids=yes&socket_timeout=3"
    )
    assert _retries(_retry(db)) == 2 and db.request_ids
    assert db.connection_pool.connection_kwargs["socket_timeout"] == 3
    # redis-py's own Retry: its backoff and count are kept, what is resent is walrus's call.
    db = Database.from_url(NOWHERE, retry=Retry(ConstantBackoff(0.2), 4))
    assert isinstance(_retry(db), WalrusRetry) and _retries(_retry(db)) == 4
    # Built from host/port too (redis-py's default would resend anything three times).
    db = Database(host="127.0.0.1", port=9, retries=1)
    assert isinstance(_retry(db), WalrusRetry) and _retries(_retry(db)) == 1
    # memory:// accepts the same options (nothing to retry in process).
    assert Database.from_url("memory://retry-options/0?retries=2", retry_backoff=1).is_embedded


@pytest.mark.parametrize(
    "kwargs,url,message",
    [
        ({"retries": -1}, NOWHERE, "retries must be >= 0"),
        ({"retries": 1.5}, NOWHERE, "retries must be an int"),
        ({"retries": True}, NOWHERE, "retries must be an int"),
        ({}, NOWHERE + "?retries=many", "retries must be an integer"),
        ({"retry_backoff": "slow"}, NOWHERE, "retry_backoff must be a number"),
        ({"retry_backoff_cap": -2}, NOWHERE, "retry_backoff_cap must be >= 0"),
        ({"request_ids": "maybe"}, NOWHERE, "request_ids must be True or False"),
        ({"retry": 3}, NOWHERE, "retry must be a redis.retry.Retry"),
        ({"retry": Retry(ConstantBackoff(0), 1), "retries": 2}, NOWHERE, "either retry"),
    ],
)
def test_bad_values_are_refused_by_name(kwargs: dict[str, Any], url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Database.from_url(url, **kwargs)


# -- Django ------------------------------------------------------------------------------


def test_django_walrus_options_accept_retry(settings: Any) -> None:
    from django_walrus import get_database
    from django_walrus.checks import check_settings

    settings.WALRUS = {
        "default": {
            "URL": NOWHERE,
            "OPTIONS": {"retries": 5, "retry_backoff": 0.01, "request_ids": True},
        },
        "other": {"URL": NOWHERE, "OPTIONS": {"retry": Retry(ConstantBackoff(0.1), 2)}},
    }
    assert check_settings() == []
    db = get_database()
    assert _retries(_retry(db)) == 5 and db.request_ids
    assert _retries(_retry(get_database("other"))) == 2


@pytest.mark.parametrize(
    "options,named",
    [
        ({"retries": -1}, "'retries'"),
        ({"retries": "3"}, "'retries'"),
        ({"retry": "yes"}, "'retry'"),
        ({"retry_backoff": -0.5}, "'retry_backoff'"),
        ({"request_ids": 2}, "'request_ids'"),
        ({"retry": Retry(ConstantBackoff(0), 1), "retries": 3}, "not both"),
    ],
)
def test_django_bad_retry_options(settings: Any, options: dict[str, Any], named: str) -> None:
    from django_walrus.checks import check_settings

    settings.WALRUS = {"default": {"URL": NOWHERE, "OPTIONS": options}}
    errors = check_settings()
    assert [e.id for e in errors] == ["django_walrus.E005"]
    assert named in errors[0].msg


def test_django_cache_options(settings: Any) -> None:
    from django.core.cache import caches

    from django_walrus.checks import check_caches

    settings.WALRUS = {"default": {"URL": NOWHERE}}
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": NOWHERE,
            "OPTIONS": {"RETRIES": 6, "RETRY_BACKOFF": 0.02, "REQUEST_IDS": False},
        },
        "pooled": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": NOWHERE,
            "OPTIONS": {"CONNECTION_POOL_KWARGS": {"retries": 1}},
        },
    }
    assert check_caches() == []
    assert _retries(_retry(caches["default"].database)) == 6
    assert _retries(_retry(caches["pooled"].database)) == 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": NOWHERE,
            "OPTIONS": {"RETRIES": "x"},
        },
        "pooled": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": NOWHERE,
            "OPTIONS": {"CONNECTION_POOL_KWARGS": {"retry": object()}},
        },
    }
    messages = sorted(e.msg for e in check_caches())
    assert len(messages) == 2
    assert "OPTIONS['RETRIES']" in messages[0] or "OPTIONS['RETRIES']" in messages[1]
    assert any("'retry'" in m for m in messages)


# -- Flask -------------------------------------------------------------------------------


def test_flask_config() -> None:
    from flask_walrus.config import read_settings

    settings = read_settings(
        {"WALRUS_URL": NOWHERE, "WALRUS_RETRIES": 4, "WALRUS_REQUEST_IDS": True}
    )
    assert (
        settings.connection_options["retries"] == 4
        and settings.connection_options["request_ids"] is True
    )
    db = Database.from_url(settings.url, **settings.connection_options)
    assert _retries(_retry(db)) == 4 and db.request_ids
    options = read_settings(
        {"WALRUS_URL": NOWHERE, "WALRUS_CONNECTION_OPTIONS": {"retry_backoff": 0.2}}
    )
    assert options.connection_options["retry_backoff"] == 0.2


@pytest.mark.parametrize(
    "config,message",
    [
        ({"WALRUS_RETRIES": -1}, "WALRUS_RETRIES: retries must be >= 0"),
        ({"WALRUS_RETRY_BACKOFF": "fast"}, "WALRUS_RETRY_BACKOFF: retry_backoff must be a number"),
        (
            {"WALRUS_REQUEST_IDS": "perhaps"},
            "WALRUS_REQUEST_IDS: request_ids must be True or False",
        ),
        (
            {"WALRUS_CONNECTION_OPTIONS": {"retries": "x"}},
            "WALRUS_CONNECTION_OPTIONS: retries must be an int",
        ),
        ({"WALRUS_RETRIES": 2, "WALRUS_CONNECTION_OPTIONS": {"retries": 3}}, "both set"),
    ],
)
def test_flask_bad_config(config: dict[str, Any], message: str) -> None:
    from flask_walrus.config import read_settings

    with pytest.raises(ValueError, match=message):
        read_settings({"WALRUS_URL": NOWHERE, **config})


def test_django_url_query_retry_options(settings: Any) -> None:
    from django_walrus import get_database
    from django_walrus.checks import check_settings

    settings.WALRUS = {"default": NOWHERE + "?retries=5&request_ids=true"}
    assert check_settings() == []
    assert _retries(_retry(get_database())) == 5 and get_database().request_ids
    settings.WALRUS = {"default": NOWHERE + "?retries=-1"}
    errors = check_settings()
    assert [e.id for e in errors] == ["django_walrus.E004"] and "retries must be >= 0" in errors[
        0
    ].msg
