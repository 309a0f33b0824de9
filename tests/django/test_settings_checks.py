"""WALRUS setting: shared Database per alias, setting_changed, system checks."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_walrus import get_database
from django_walrus.cache import WalrusCache
from django_walrus.checks import PING_TIMEOUT, check_caches, check_servers_reachable, check_settings
from django_walrus.conf import safe_url

# Most tests here check settings without sending a command: they run once. Those that use
# the configured backend say so.
pytestmark = pytest.mark.backends("resp2", reason="settings and system checks: no Redis work")
ALL_BACKENDS = pytest.mark.backends(
    "resp2", "resp3", "memory", reason="the configured backend's Database, cache or settings"
)


def _ids(messages: list[Any]) -> list[str]:
    return sorted(m.id for m in messages)


@ALL_BACKENDS
def test_one_database_per_alias_shared_with_cache() -> None:
    from django.core.cache import caches

    db = get_database()
    assert db is get_database("default")
    cache = caches["default"]
    assert isinstance(cache, WalrusCache)
    assert cache.database is db
    db.set("app:x", 1)
    assert cache.database.get("app:x") == b"1"


def test_setting_changed_rebuilds_database(settings: Any) -> None:
    first = get_database()
    settings.WALRUS = {"default": "memory://other-site"}
    second = get_database()
    assert second is not first
    assert second.is_embedded


def test_unknown_alias(settings: Any) -> None:
    with pytest.raises(KeyError, match="no alias 'nope'"):
        get_database("nope")


@ALL_BACKENDS
def test_valid_settings_have_no_errors() -> None:
    assert check_settings() == []


@pytest.mark.parametrize(
    "walrus,expected",
    [
        ("redis://x", ["django_walrus.E001"]),
        ({"default": 42}, ["django_walrus.E002"]),
        ({"default": {"URL": "redis://x", "HOST": "y"}}, ["django_walrus.E003"]),
        ({"default": {"URL": "http://x"}}, ["django_walrus.E004"]),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"sockettimeout": 1}}},
            ["django_walrus.E005"],
        ),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"socket_timeout": -1}}},
            ["django_walrus.E005"],
        ),
        ({"default": {"URL": "redis://x", "PREFIXES": "app:"}}, ["django_walrus.E006"]),
        ({"other": "redis://x"}, ["django_walrus.W001"]),
        # URLs that parse but cannot work: a port or db that is not a number, no host, ...
        ({"default": "redis://localhost:notaport/0"}, ["django_walrus.E004"]),
        ({"default": "redis://h/abc"}, ["django_walrus.E004"]),
        ({"default": "redis://h:6379/-1"}, ["django_walrus.E004"]),
        ({"default": "rediss://h:99999/0"}, ["django_walrus.E004"]),
        ({"default": "redis://h:6379/0?db=x"}, ["django_walrus.E004"]),
        ({"default": "redis://:6379/0"}, ["django_walrus.E004"]),
        ({"default": "unix://"}, ["django_walrus.E004"]),
        ({"default": "memory://site/abc"}, ["django_walrus.E004"]),
        ({"default": "redis+cluster://h:x,h2:7000"}, ["django_walrus.E004"]),
        # option values of the wrong type
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"max_connections": "ten"}}},
            ["django_walrus.E005"],
        ),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"max_connections": 0}}},
            ["django_walrus.E005"],
        ),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"health_check_interval": "30"}}},
            ["django_walrus.E005"],
        ),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"health_check_interval": -1}}},
            ["django_walrus.E005"],
        ),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"socket_keepalive": "yes"}}},
            ["django_walrus.E005"],
        ),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"retry_on_timeout": 1}}},
            ["django_walrus.E005"],
        ),
        ({"default": {"URL": "redis://x", "OPTIONS": {"protocol": 4}}}, ["django_walrus.E005"]),
        ({"default": {"URL": "redis://x", "OPTIONS": {"password": 1234}}}, ["django_walrus.E005"]),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"ssl_cert_reqs": "maybe"}}},
            ["django_walrus.E005"],
        ),
        ({"default": {"URL": "memory://x", "OPTIONS": {"password": "pw"}}}, ["django_walrus.E005"]),
        ({"default": {"URL": "redis://x", "OPTIONS": []}}, ["django_walrus.E005"]),
        # decode_responses breaks everything that shares the pool
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"decode_responses": True}}},
            ["django_walrus.E007"],
        ),
        ({"default": "redis://x:6379/0?decode_responses=1"}, ["django_walrus.E007"]),
        (
            {"default": {"URL": "redis://x", "OPTIONS": {"decode_responses": "no"}}},
            ["django_walrus.E005"],
        ),
    ],
)
def test_bad_settings_produce_check_ids(settings: Any, walrus: Any, expected: list[str]) -> None:
    settings.WALRUS = walrus
    assert _ids(check_settings()) == expected


@pytest.mark.parametrize(
    "walrus",
    [
        {"default": "redis://x:6379/0"},
        {"default": "rediss://user:pw@x:6380/15?socket_timeout=2"},
        {"default": "unix:///run/redis.sock?db=2"},
        {"default": "memory://site/3"},
        {"default": "redis+cluster://h1:7000,h2:7000"},
        {"default": "redis+sentinel://s1:26379,s2:26379/mymaster/1"},
        {
            "default": {
                "URL": "redis://x",
                "OPTIONS": {
                    "socket_timeout": 0.5,
                    "socket_connect_timeout": 1,
                    "socket_keepalive": True,
                    "retry_on_timeout": False,
                    "max_connections": 50,
                    "health_check_interval": 30,
                    "client_name": "web",
                    "protocol": 3,
                    "decode_responses": False,
                    "ssl_cert_reqs": "required",
                },
            }
        },
    ],
)
def test_good_settings_pass(settings: Any, walrus: Any) -> None:
    settings.WALRUS = walrus
    assert check_settings() == []


def test_bad_url_message_names_the_problem_without_the_password(settings: Any) -> None:
    settings.WALRUS = {"default": "redis://:hunter2@localhost:notaport/0"}
    (error,) = check_settings()
    assert error.id == "django_walrus.E004"
    assert "notaport" in error.msg and "hunter2" not in error.msg
    settings.WALRUS = {"default": "redis://h/abc"}
    assert "'abc'" in check_settings()[0].msg


def test_decode_responses_error_explains_why(settings: Any) -> None:
    settings.WALRUS = {"default": {"URL": "redis://x", "OPTIONS": {"decode_responses": True}}}
    (error,) = check_settings()
    assert "decode_responses" in error.msg and "UnicodeDecodeError" in error.msg


def test_runtime_refuses_what_the_checks_report(settings: Any, redis_url: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.WALRUS = {"default": {"URL": redis_url, "OPTIONS": {"decode_responses": True}}}
    with pytest.raises(ImproperlyConfigured, match=r"WALRUS\['default'\].*decode_responses"):
        get_database()
    settings.WALRUS = {"default": redis_url.rsplit("/", 1)[0] + "/abc"}
    with pytest.raises(ImproperlyConfigured, match="database number"):
        get_database()
    settings.WALRUS = {"default": {"URL": redis_url, "OPTIONS": {"max_connections": "ten"}}}
    with pytest.raises(ImproperlyConfigured, match="max_connections"):
        get_database()


def _walrus_cache(location: str = "", **options: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"BACKEND": "django_walrus.cache.WalrusCache", "OPTIONS": options}
    if location:
        entry["LOCATION"] = location
    return entry


@ALL_BACKENDS
def test_valid_caches_have_no_errors() -> None:
    assert check_caches() == []


@pytest.mark.parametrize(
    "location,options,expected",
    [
        ("", {"SERIALIZER": "yaml"}, ["django_walrus.E011"]),
        ("", {"SERIALIZER": object()}, ["django_walrus.E011"]),
        ("", {"COMPRESSOR": "brotli"}, ["django_walrus.E015"]),
        ("", {"COMPRESSOR": "zstd", "COMPRESS_LEVEL": 40}, ["django_walrus.E015"]),
        ("", {"ALIAS": "missing"}, ["django_walrus.E012"]),
        ("", {"ALIAS": 3}, ["django_walrus.E012"]),
        ("", {"ALIAS": "default", "SOCKET_TIMEOUT": 1}, ["django_walrus.E013"]),
        ("", {"CONNECTION_POOL_KWARGS": {"max_connections": 5}}, ["django_walrus.E013"]),
        ("", {"CLOSE_CONNECTION": True}, ["django_walrus.E013"]),
        ("redis://h:x/0", {}, ["django_walrus.E014"]),
        ("redis://h/abc", {}, ["django_walrus.E014"]),
        ("http://h/0", {}, ["django_walrus.E014"]),
        ("redis://h/0", {"ALIAS": "default"}, ["django_walrus.E014"]),
        ("redis://h/0", {"COMPRESS_MIN_LENGTH": -1}, ["django_walrus.E015"]),
        ("redis://h/0", {"COMPRESS_LEVEL": 11}, ["django_walrus.E015"]),
        ("redis://h/0", {"IGNORE_EXCEPTIONS": "yes"}, ["django_walrus.E015"]),
        ("redis://h/0", {"BATCH_READS": "off"}, ["django_walrus.E015"]),
        ("redis://h/0", {"SOCKET_TIMEOUT": "1"}, ["django_walrus.E015"]),
        (
            "redis://h/0",
            {"CONNECTION_POOL_KWARGS": {"max_connections": "ten"}},
            ["django_walrus.E015"],
        ),
        (
            "redis://h/0",
            {"CONNECTION_POOL_KWARGS": {"decode_responses": True}},
            ["django_walrus.E007"],
        ),
        ("redis://h/0", {"CLOSE_CONNECTION": 1}, ["django_walrus.E015"]),
    ],
)
def test_bad_cache_options_produce_check_ids(
    settings: Any, location: str, options: dict[str, Any], expected: list[str]
) -> None:
    settings.CACHES = {"default": _walrus_cache(location, **options)}
    assert _ids(check_caches()) == expected


def test_good_cache_options_pass(settings: Any, redis_url: str) -> None:
    settings.CACHES = {
        "default": _walrus_cache(
            ALIAS="default", SERIALIZER="json", SIGN=False, IGNORE_EXCEPTIONS=True
        ),
        "own": _walrus_cache(
            redis_url,
            SERIALIZER="msgpack",
            COMPRESS_MIN_LENGTH=100,
            COMPRESS_LEVEL=9,
            SOCKET_TIMEOUT=0.5,
            SOCKET_CONNECT_TIMEOUT=0.2,
            CONNECTION_POOL_KWARGS={"max_connections": 10},
            CLOSE_CONNECTION=True,
        ),
        "other": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    assert check_caches() == []


def test_django_redis_options_get_a_hint(settings: Any) -> None:
    settings.CACHES = {"default": _walrus_cache(CLIENT_CLASS="y", PARSER_CLASS="z")}
    errors = check_caches()
    assert _ids(errors) == ["django_walrus.E010", "django_walrus.E010"]
    assert any("hiredis" in (e.hint or "") for e in errors)


def test_django_redis_compressor_names_are_accepted(settings: Any, redis_url: str) -> None:
    settings.CACHES = {
        "default": _walrus_cache(
            ALIAS="default", COMPRESSOR="django_redis.compressors.zstd.ZStdCompressor"
        ),
        "lz4": _walrus_cache(
            redis_url, COMPRESSOR="lz4", COMPRESS_MIN_LENGTH=100, COMPRESS_LEVEL=4
        ),
        "none": _walrus_cache(redis_url, COMPRESSOR=None),
    }
    assert check_caches() == []


def test_pool_options_with_alias_hint_names_walrus_options(settings: Any) -> None:
    settings.CACHES = {
        "default": _walrus_cache(ALIAS="default", SOCKET_TIMEOUT=1, SOCKET_CONNECT_TIMEOUT=1)
    }
    (error,) = check_caches()
    assert "SOCKET_TIMEOUT" in error.msg and "SOCKET_CONNECT_TIMEOUT" in error.msg
    assert "WALRUS['default']['OPTIONS']" in (error.hint or "")


@pytest.mark.parametrize(
    "options,check_id",
    [({"SERIALIZER": "yaml"}, "django_walrus.E011"), ({"CLIENT_CLASS": "x"}, "django_walrus.E010")],
)
def test_check_command_reports_cache_errors_without_traceback(
    settings: Any, options: dict[str, Any], check_id: str
) -> None:
    # Django's own cache checks build every cache: a raising backend used to end `check`
    # with a traceback instead of a report.
    settings.CACHES = {"default": _walrus_cache(ALIAS="default", **options)}
    with pytest.raises(SystemCheckError, match=check_id):
        call_command("check")


def test_check_command_reports_errors(settings: Any) -> None:
    settings.WALRUS = {"default": {"URL": "ftp://nowhere"}}
    with pytest.raises(SystemCheckError, match="django_walrus.E004"):
        call_command("check")


def test_deploy_check_unreachable_server(settings: Any, free_port_url: str) -> None:
    settings.WALRUS = {
        "default": {
            "URL": free_port_url.replace("redis://", "redis://:secret@"),
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    messages = check_servers_reachable()
    assert _ids(messages) == ["django_walrus.W002"]
    assert "secret" not in messages[0].msg
    assert (
        _ids(run_checks(include_deployment_checks=True, tags=["django_walrus"])).count(
            "django_walrus.W002"
        )
        == 1
    )


def test_deploy_check_does_not_wait_for_a_silent_server(
    settings: Any, silent_server_url: str
) -> None:
    # No timeouts configured: the alias' own pool would wait for ever; the check caps them.
    settings.WALRUS = {"default": silent_server_url}
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(check_servers_reachable()), daemon=True)
    worker.start()
    worker.join(timeout=60)  # a hang guard, not a measurement
    assert not worker.is_alive(), "the deploy check did not give up on a silent server"
    (warning,) = result[0]
    assert warning.id == "django_walrus.W002"
    assert f"within {PING_TIMEOUT:g} s" in warning.msg


def test_deploy_check_runs_with_only_warnings(settings: Any, free_port_url: str) -> None:
    settings.WALRUS = {"other": free_port_url}  # W001 (no default) must not hide the PING check
    assert _ids(check_servers_reachable()) == ["django_walrus.W002"]


@pytest.mark.backends("resp2", "resp3", reason="PING of a real server (memory:// is W003)")
def test_deploy_check_reachable_and_memory(settings: Any) -> None:
    assert check_servers_reachable() == []
    settings.WALRUS = {"default": "memory://x"}
    assert _ids(check_servers_reachable()) == ["django_walrus.W003"]


def test_safe_url_masks_password() -> None:
    assert safe_url("redis://user:pw@host:1/0") == "redis://user:***@host:1/0"
    assert safe_url("redis://host:1/0") == "redis://host:1/0"
