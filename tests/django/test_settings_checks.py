"""WALRUS setting: shared Database per alias, setting_changed, system checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_walrus import get_database
from django_walrus.cache import WalrusCache
from django_walrus.checks import check_servers_reachable, check_settings
from django_walrus.conf import safe_url


def _ids(messages: list[Any]) -> list[str]:
    return sorted(m.id for m in messages)


def test_one_database_per_alias_shared_with_cache(redis_url: str) -> None:
    from django.core.cache import caches

    db = get_database()
    assert db is get_database("default")
    cache = caches["default"]
    assert isinstance(cache, WalrusCache)
    assert cache.database is db
    db.set("app:x", 1)
    assert cache.database.get("app:x") == b"1"


def test_setting_changed_rebuilds_database(settings: Any, redis_url: str) -> None:
    first = get_database()
    settings.WALRUS = {"default": "memory://other-site"}
    second = get_database()
    assert second is not first
    assert second.is_embedded


def test_unknown_alias(settings: Any) -> None:
    with pytest.raises(KeyError, match="no alias 'nope'"):
        get_database("nope")


def test_valid_settings_have_no_errors() -> None:
    assert check_settings() == []


@pytest.mark.parametrize(
    "walrus,expected",
    [
        ("redis://x", ["django_walrus.E001"]),
        ({"default": 42}, ["django_walrus.E002"]),
        ({"default": {"URL": "redis://x", "HOST": "y"}}, ["django_walrus.E003"]),
        ({"default": {"URL": "http://x"}}, ["django_walrus.E004"]),
        ({"default": {"URL": "redis://x", "OPTIONS": {"sockettimeout": 1}}}, ["django_walrus.E005"]),
        ({"default": {"URL": "redis://x", "OPTIONS": {"socket_timeout": -1}}}, ["django_walrus.E005"]),
        ({"default": {"URL": "redis://x", "PREFIXES": "app:"}}, ["django_walrus.E006"]),
        ({"other": "redis://x"}, ["django_walrus.W001"]),
    ],
)
def test_bad_settings_produce_check_ids(settings: Any, walrus: Any, expected: list[str]) -> None:
    settings.WALRUS = walrus
    assert _ids(check_settings()) == expected


def test_check_command_reports_errors(settings: Any) -> None:
    settings.WALRUS = {"default": {"URL": "ftp://nowhere"}}
    with pytest.raises(SystemCheckError, match="django_walrus.E004"):
        call_command("check")


def test_deploy_check_unreachable_server(settings: Any, free_port_url: str) -> None:
    settings.WALRUS = {"default": {"URL": free_port_url.replace("redis://", "redis://:secret@"),
                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}
    messages = check_servers_reachable()
    assert _ids(messages) == ["django_walrus.W002"]
    assert "secret" not in messages[0].msg
    assert _ids(run_checks(include_deployment_checks=True, tags=["django_walrus"])).count("django_walrus.W002") == 1


def test_deploy_check_reachable_and_memory(settings: Any, redis_url: str) -> None:
    assert check_servers_reachable() == []
    settings.WALRUS = {"default": "memory://x"}
    assert _ids(check_servers_reachable()) == ["django_walrus.W003"]


def test_safe_url_masks_password() -> None:
    assert safe_url("redis://user:pw@host:1/0") == "redis://user:***@host:1/0"
    assert safe_url("redis://host:1/0") == "redis://host:1/0"
