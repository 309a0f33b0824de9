"""The ``WALRUS`` setting: aliases -> connection settings, and the shared ``Database`` per alias.

::

    WALRUS = {
        "default": {
            "URL": "redis://localhost:6379/0",        # or "memory://site" (embedded engine),
                                                       # "redis+cluster://h1:7000,h2:7000",
                                                       # "redis+sentinel://s1:26379/mymaster/0"
            "OPTIONS": {"socket_timeout": 0.5},        # passed to the redis-py connection pool
            "PREFIXES": ["myapp:", "cache:"],          # what walrus_flush deletes by default
        },
    }

A plain string is accepted as shorthand for ``{"URL": ...}``. Without a ``WALRUS`` setting the
``default`` alias is ``redis://localhost:6379/0``. Settings are read on first use and re-read
when a test changes them (``setting_changed``).
"""

from __future__ import annotations

import threading
from typing import Any

from walrus import Database
from walrus.asyncio import AsyncDatabase, PerLoop
from walrus.retry import RETRY_OPTIONS
from walrus.urls import (
    CONNECTION_OPTIONS,
    decodes_responses,
    option_problems,
    url_problems,
)
from walrus.urls import redact_url as safe_url

__all__ = [
    "ALLOWED_ALIAS_KEYS",
    "DECODE_RESPONSES_PROBLEM",
    "DEFAULT_URL",
    "ALLOWED_OPTIONS",
    "AliasDatabase",
    "alias_settings",
    "alias_problems",
    "get_async_database",
    "get_database",
    "reset_databases",
    "safe_url",
    "walrus_settings",
]

DEFAULT_URL = "redis://localhost:6379/0"
"""The Redis URL of an alias that names none."""
ALLOWED_ALIAS_KEYS = frozenset({"URL", "OPTIONS", "PREFIXES"})
"""The keys a ``WALRUS`` alias may have."""
# redis-py ConnectionPool keyword arguments users may set through OPTIONS.
ALLOWED_OPTIONS = frozenset(CONNECTION_OPTIONS)
"""Connection keyword arguments an alias may set through ``OPTIONS``."""

DECODE_RESPONSES_PROBLEM = (
    "decode_responses=True is not supported: the pool is shared by the cache backend, rate "
    "limits and walrus models, which read bytes (cached pickles would fail with "
    "UnicodeDecodeError); decode values where you read them instead"
)
"""Why ``decode_responses=True`` is refused (the check's message)."""

_lock = threading.Lock()
_databases: dict[str, Database] = {}
_async_databases: dict[str, PerLoop] = {}


def walrus_settings() -> dict[str, dict[str, Any]]:
    """The normalised ``WALRUS`` setting (aliases -> dicts with URL/OPTIONS/PREFIXES). No Redis
    work."""
    from django.conf import settings

    raw = getattr(settings, "WALRUS", None)
    if raw is None:
        return {"default": {"URL": DEFAULT_URL, "OPTIONS": {}, "PREFIXES": []}}
    if not isinstance(raw, dict):
        raise TypeError(f"settings.WALRUS must be a dict of aliases, got {type(raw).__name__}")
    result: dict[str, dict[str, Any]] = {}
    for alias, value in raw.items():
        if isinstance(value, str):
            value = {"URL": value}
        if not isinstance(value, dict):
            raise TypeError(
                f"settings.WALRUS[{alias!r}] must be a URL string or a dict, "
                f"got {type(value).__name__}"
            )
        result[alias] = {
            "URL": value.get("URL", DEFAULT_URL),
            "OPTIONS": dict(value.get("OPTIONS") or {}),
            "PREFIXES": list(value.get("PREFIXES") or []),
        }
    return result


def alias_settings(alias: str = "default") -> dict[str, Any]:
    """Settings of one alias; KeyError naming the alias when it is not configured. No Redis work."""
    config = walrus_settings()
    try:
        return config[alias]
    except KeyError:
        raise KeyError(
            f"settings.WALRUS has no alias {alias!r} "
            f"(configured: {', '.join(sorted(map(repr, config))) or 'none'})"
        ) from None


def alias_problems(config: dict[str, Any]) -> list[str]:
    """What makes a normalised alias (``alias_settings``) unusable: its URL, its OPTIONS. No Redis
    work."""
    problems = [f"URL: {p}" for p in url_problems(config["URL"])]
    problems += [f"OPTIONS: {p}" for p in option_problems(config["OPTIONS"], config["URL"])]
    if decodes_responses(config["OPTIONS"], config["URL"]):
        problems.append(DECODE_RESPONSES_PROBLEM)
    return problems


def get_database(alias: str = "default") -> Database:
    """The ``walrus.Database`` of ``alias``: one connection pool per alias, shared by the cache
    backend, rate limits, models and commands. Does not connect until first used.

    KeyError for an unknown alias; ImproperlyConfigured naming the problem for a bad URL or
    bad OPTIONS (the same problems ``manage.py check`` reports).
    No Redis work: the Database connects on first use."""
    database = _databases.get(alias)
    if database is not None:
        return database
    with _lock:
        database = _databases.get(alias)
        if database is None:
            config = alias_settings(alias)
            problems = alias_problems(config)
            if problems:
                from django.core.exceptions import ImproperlyConfigured

                raise ImproperlyConfigured(f"settings.WALRUS[{alias!r}]: {'; '.join(problems)}")
            database = Database.from_url(config["URL"], **config["OPTIONS"])
            _databases[alias] = database
    return database


def get_async_database(alias: str = "default") -> AsyncDatabase:
    """The ``walrus.asyncio.AsyncDatabase`` of ``alias`` for the running event loop: one per
    alias and loop, closed when the loop shuts down (``walrus.asyncio.PerLoop``). Call it
    from async code. Errors as ``get_database``; walrus's reconnection options stay with the
    sync client (docs/asyncio.md). No Redis work: it connects on first use."""
    per_loop = _async_databases.get(alias)
    if per_loop is None:
        get_database(alias)  # the same checks, the same errors (takes the lock itself)
        with _lock:
            per_loop = _async_databases.get(alias)
            if per_loop is None:
                config = alias_settings(alias)
                url, options = config["URL"], _async_options(config["OPTIONS"])
                per_loop = PerLoop(lambda: AsyncDatabase.from_url(url, **options))
                _async_databases[alias] = per_loop
    return per_loop.get()


def _async_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in RETRY_OPTIONS and k != "retry"}


def reset_databases(**_: Any) -> None:
    """Drop cached Databases (their pools are disconnected); the next use re-reads settings. No
    Redis command."""
    with _lock:
        for database in _databases.values():
            database.disconnect()
        _databases.clear()
        _async_databases.clear()  # each loop's client is closed when that loop shuts down


class AliasDatabase:
    """A class attribute that is ``get_database(alias)`` each time it is read, for walrus
    models whose database follows the ``WALRUS`` setting (and test overrides of it)::

        class Note(Model):
            __database__ = AliasDatabase("default")
    """

    def __init__(self, alias: str = "default") -> None:
        if not isinstance(alias, str) or not alias:
            raise TypeError(f"AliasDatabase takes an alias name, got {alias!r}")
        self.alias = alias

    def __repr__(self) -> str:
        return f"AliasDatabase({self.alias!r})"

    def __get__(self, instance: Any, owner: Any = None) -> Database:
        return get_database(self.alias)
