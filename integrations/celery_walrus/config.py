"""Configuration of celery_walrus: Celery config keys, the Django ``WALRUS`` setting, the Database.

Celery config keys (lowercase, as Celery's own; the uppercase spelling is accepted too)::

    app.conf.walrus_url = "redis://localhost:6379/1"     # where the locks live
    app.conf.walrus_connection_options = {"socket_timeout": 2}
    app.conf.walrus_alias = "default"             # Django WALRUS alias when walrus_url is unset
    app.conf.walrus_lock_prefix = "celery_walrus:"  # lock names: <prefix><task name>:<digest>
    app.conf.walrus_lock_default_ttl = 60         # seconds, for tasks without time limits
    app.conf.walrus_lock_ttl_margin = 10          # seconds added to a task's time limit
    app.conf.walrus_lock_enqueue_ttl = 600        # seconds an enqueue lock waits for a worker
    app.conf.walrus_lock_retry_countdown = 5      # seconds, on_duplicate="retry"
    app.conf.walrus_lock_renew = True             # renew execute locks every ttl/3 while running

Without ``walrus_url``, the Database is ``django_walrus.conf.get_database(walrus_alias)`` when
Django is installed and its settings are configured, else ``redis://localhost:6379/0``.
Settings are read on first use and cached per Celery app (``reset(app)`` drops the cache).
"""

from __future__ import annotations

import importlib.util
import math
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from walrus import Database

__all__ = [
    "DEFAULTS",
    "DEFAULT_URL",
    "LockSettings",
    "get_database",
    "get_settings",
    "read_settings",
    "reset",
]

DEFAULT_URL = "redis://localhost:6379/0"

DEFAULTS: dict[str, Any] = {
    "walrus_url": None,
    "walrus_connection_options": {},
    "walrus_alias": "default",
    "walrus_lock_prefix": "celery_walrus:",
    "walrus_lock_default_ttl": 60.0,
    "walrus_lock_ttl_margin": 10.0,
    "walrus_lock_enqueue_ttl": 600.0,
    "walrus_lock_retry_countdown": 5.0,
    "walrus_lock_renew": True,
}


@dataclass(frozen=True)
class LockSettings:
    """The validated configuration of one Celery app (times in seconds)."""

    url: str | None
    connection_options: dict[str, Any]
    alias: str
    prefix: str
    default_ttl: float
    ttl_margin: float
    enqueue_ttl: float
    retry_countdown: float
    renew: bool


_lock = threading.Lock()
_settings: weakref.WeakKeyDictionary[Any, LockSettings] = weakref.WeakKeyDictionary()
_databases: weakref.WeakKeyDictionary[Any, Database] = weakref.WeakKeyDictionary()


def _raw(conf: Mapping[str, Any], key: str) -> Any:
    for name in (key, key.upper()):
        try:
            value = conf.get(name)
        except Exception:  # pragma: no cover - exotic conf objects
            value = None
        if value is not None:
            return value
    return DEFAULTS[key]


def _seconds(conf: Mapping[str, Any], key: str, *, allow_zero: bool = False) -> float:
    value = _raw(conf, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Celery config {key} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        wanted = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"Celery config {key} must be {wanted} number of seconds, got {value!r}")
    return float(value)


def read_settings(conf: Mapping[str, Any]) -> LockSettings:
    """Validate the ``walrus_*`` keys of a Celery ``app.conf``; TypeError/ValueError name the key."""
    url = _raw(conf, "walrus_url")
    if url is not None and (not isinstance(url, str) or not url):
        raise TypeError(f"Celery config walrus_url must be a non-empty URL string, got {url!r}")
    options = _raw(conf, "walrus_connection_options")
    if not isinstance(options, Mapping):
        raise TypeError(
            f"Celery config walrus_connection_options must be a dict, got {type(options).__name__}"
        )
    alias = _raw(conf, "walrus_alias")
    if not isinstance(alias, str) or not alias:
        raise TypeError(f"Celery config walrus_alias must be a non-empty string, got {alias!r}")
    prefix = _raw(conf, "walrus_lock_prefix")
    if not isinstance(prefix, str):
        raise TypeError(f"Celery config walrus_lock_prefix must be a string, got {type(prefix).__name__}")
    renew = _raw(conf, "walrus_lock_renew")
    if not isinstance(renew, bool):
        raise TypeError(f"Celery config walrus_lock_renew must be True or False, got {renew!r}")
    return LockSettings(
        url=url,
        connection_options=dict(options),
        alias=alias,
        prefix=prefix,
        default_ttl=_seconds(conf, "walrus_lock_default_ttl"),
        ttl_margin=_seconds(conf, "walrus_lock_ttl_margin", allow_zero=True),
        enqueue_ttl=_seconds(conf, "walrus_lock_enqueue_ttl"),
        retry_countdown=_seconds(conf, "walrus_lock_retry_countdown", allow_zero=True),
        renew=renew,
    )


def get_settings(app: Any) -> LockSettings:
    """The cached, validated settings of Celery ``app`` (read on first use)."""
    settings = _settings.get(app)
    if settings is None:
        settings = read_settings(app.conf)
        with _lock:
            _settings[app] = settings
    return settings


def _django_configured() -> bool:
    if importlib.util.find_spec("django") is None or importlib.util.find_spec("django_walrus") is None:
        return False
    from django.conf import settings

    return bool(settings.configured)


def get_database(app: Any) -> Database:
    """The ``walrus.Database`` holding ``app``'s locks; does not connect until used.

    ``walrus_url`` set: one Database per app, cached on this module's WeakKeyDictionary keyed
    by the app. Else Django's ``WALRUS`` alias (cached by django_walrus, which re-reads it when
    settings change), else the default local URL.
    """
    database = _databases.get(app)
    if database is not None:
        return database
    settings = get_settings(app)
    if settings.url is None and _django_configured():
        from django_walrus.conf import get_database as django_database

        return django_database(settings.alias)
    with _lock:
        database = _databases.get(app)
        if database is None:
            database = Database.from_url(settings.url or DEFAULT_URL, **settings.connection_options)
            _databases[app] = database
    return database


def reset(app: Any) -> None:
    """Forget ``app``'s cached settings and Database (its pool is disconnected)."""
    with _lock:
        _settings.pop(app, None)
        database = _databases.pop(app, None)
    if database is not None:
        database.disconnect()
