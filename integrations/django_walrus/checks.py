"""System checks for the ``WALRUS`` setting and the ``WalrusCache`` entries of ``CACHES``.

WALRUS errors: E001 WALRUS is not a dict; E002 an alias is neither a URL nor a dict; E003
unknown keys in an alias; E004 a bad URL (scheme, host, port, db number, query arguments;
cluster and Sentinel URLs too); E005 unknown OPTIONS or a value of the wrong type; E006
PREFIXES is not a list of strings; E007 ``decode_responses=True`` (also for a cache's
CONNECTION_POOL_KWARGS).
CACHES errors (``WalrusCache`` only, read without building the cache): E010 unknown OPTIONS;
E011 unknown SERIALIZER; E012 ALIAS names no WALRUS alias; E013 pool options (timeouts,
CONNECTION_POOL_KWARGS, CLOSE_CONNECTION) on a cache that shares an alias' pool; E014 a bad
LOCATION; E015 an option value of the wrong type.
WALRUS_RATELIMIT_* errors: E020 a bad rate-limit setting (the message names it); E021 a
DEFAULT_THROTTLE_RATES entry the core cannot read while a django_walrus throttle is a default
throttle class of REST framework.
Warnings: W001 no ``default`` alias; W002 (deploy) a server that does not answer PING within
``PING_TIMEOUT`` seconds; W003 (deploy) the embedded ``memory://`` engine configured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from walrus.urls import decodes_responses, option_problems, url_problems

from .conf import ALLOWED_ALIAS_KEYS, DECODE_RESPONSES_PROBLEM

__all__ = [
    "PING_TIMEOUT",
    "check_caches",
    "check_rate_limit_settings",
    "check_servers_reachable",
    "check_settings",
]

BACKEND = "django_walrus.cache.WalrusCache"
_Check = Callable[..., list[CheckMessage]]
# Seconds the deploy check waits to connect and for PING's answer: an unreachable host must
# not stall `check --deploy` for the OS connect timeout (minutes).
PING_TIMEOUT = 2.0
"""Seconds the deploy check waits to connect and for PING's answer, so an unreachable host does not
stall ``check --deploy`` for the OS connect timeout."""


def _register(*tags: str, deploy: bool = False) -> Callable[[_Check], _Check]:
    """Django's ``checks.register(*tags, deploy=deploy)``, typed (Django ships no types: it is
    Any here). No Redis work."""
    decorate: Callable[[_Check], _Check] = register(*tags, deploy=deploy)
    return decorate


def _raw_aliases() -> tuple[dict[str, Any] | None, list[CheckMessage]]:
    raw = getattr(settings, "WALRUS", None)
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return None, [
            Error(
                "settings.WALRUS must be a dict mapping aliases to settings, "
                f"got {type(raw).__name__}.",
                hint='WALRUS = {"default": {"URL": "redis://localhost:6379/0"}}',
                id="django_walrus.E001",
            )
        ]
    return raw, []


def _check_options(where: str, options: Any, url: Any) -> list[CheckMessage]:
    if not isinstance(options, dict):
        return [
            Error(
                f"{where}['OPTIONS'] must be a dict, got {type(options).__name__}.",
                id="django_walrus.E005",
            )
        ]
    errors: list[CheckMessage] = [
        Error(f"{where}['OPTIONS']: {problem}.", id="django_walrus.E005")
        for problem in option_problems(options, url)
    ]
    if decodes_responses(options, url):
        errors.append(
            Error(
                f"{where}: {DECODE_RESPONSES_PROBLEM}.",
                hint="Remove decode_responses from OPTIONS (and from the URL).",
                id="django_walrus.E007",
            )
        )
    return errors


def _check_alias(alias: Any, value: Any) -> list[CheckMessage]:
    where = f"settings.WALRUS[{alias!r}]"
    if isinstance(value, str):
        value = {"URL": value}
    if not isinstance(value, dict):
        return [
            Error(
                f"{where} must be a URL string or a dict, got {type(value).__name__}.",
                id="django_walrus.E002",
            )
        ]
    errors: list[CheckMessage] = []
    unknown = sorted(str(key) for key in set(value) - ALLOWED_ALIAS_KEYS)
    if unknown:
        errors.append(
            Error(
                f"{where} has unknown keys: {', '.join(unknown)}.",
                hint=f"Allowed keys: {', '.join(sorted(ALLOWED_ALIAS_KEYS))}.",
                id="django_walrus.E003",
            )
        )
    url = value.get("URL")
    if url is not None:
        errors += [
            Error(f"{where}['URL']: {problem}.", id="django_walrus.E004")
            for problem in url_problems(url)
        ]
    options = value.get("OPTIONS")
    errors += _check_options(where, {} if options is None else options, url)
    prefixes = value.get("PREFIXES", [])
    if not isinstance(prefixes, (list, tuple)) or not all(
        isinstance(p, str) and p for p in prefixes
    ):
        errors.append(
            Error(
                f"{where}['PREFIXES'] must be a list of non-empty strings.", id="django_walrus.E006"
            )
        )
    return errors


@_register("django_walrus")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Errors and warnings of the ``WALRUS`` setting (no I/O). No Redis work."""
    raw, errors = _raw_aliases()
    if raw is None:
        return errors
    if raw and "default" not in raw:
        errors.append(
            Warning(
                "settings.WALRUS has no 'default' alias; "
                "get_database() without an alias will fail.",
                id="django_walrus.W001",
            )
        )
    for alias, value in raw.items():
        errors += _check_alias(alias, value)
    return errors


@_register("django_walrus")
def check_rate_limit_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Errors of the ``WALRUS_RATELIMIT_*`` settings (no I/O), each naming its setting. No Redis
    work."""
    from .ratelimit_settings import setting_problems

    errors = [Error(f"{problem}.", id="django_walrus.E020") for problem in setting_problems()]
    return errors + _throttle_rate_errors()


def _throttle_rate_errors() -> list[CheckMessage]:
    """E021: DRF's DEFAULT_THROTTLE_RATES read by the core's parser, when a django_walrus
    throttle is among DEFAULT_THROTTLE_CLASSES (DRF's own throttles read them otherwise)."""
    drf = getattr(settings, "REST_FRAMEWORK", None)
    if not isinstance(drf, dict):
        return []
    classes = drf.get("DEFAULT_THROTTLE_CLASSES") or ()
    if not any(isinstance(c, str) and c.startswith("django_walrus.") for c in classes):
        return []
    from walrus.rate_limit import parse_rates

    rates = drf.get("DEFAULT_THROTTLE_RATES") or {}
    errors: list[CheckMessage] = []
    for scope, rate in rates.items() if isinstance(rates, dict) else ():
        try:
            parse_rates(rate, f"settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'][{scope!r}]")
        except (TypeError, ValueError) as exc:
            errors.append(Error(f"{exc}.", id="django_walrus.E021"))
    return errors


def _is_walrus_cache(backend: Any) -> bool:
    if backend == BACKEND:
        return True
    if not isinstance(backend, str):
        return False
    from django.utils.module_loading import import_string

    from .cache import WalrusCache

    try:
        cls = import_string(backend)
    except ImportError:
        return False  # Django reports a backend that does not import when the cache is used
    return isinstance(cls, type) and issubclass(cls, WalrusCache)


@_register("django_walrus", Tags.caches)
def check_caches(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Errors of every ``WalrusCache`` in ``CACHES``, read from the settings without building
    the cache (no I/O). No Redis work."""
    from .cache_options import E_ALIAS, read_cache_options

    caches = getattr(settings, "CACHES", None)
    if not isinstance(caches, dict):
        return []
    raw_aliases, _ = _raw_aliases()
    aliases = set(raw_aliases) if raw_aliases else {"default"}
    errors: list[CheckMessage] = []
    for name, params in caches.items():
        if not isinstance(params, dict) or not _is_walrus_cache(params.get("BACKEND")):
            continue
        where = f"settings.CACHES[{name!r}]"
        config, problems = read_cache_options(params.get("LOCATION", ""), params.get("OPTIONS"))
        for problem in problems:
            errors.append(Error(f"{where}: {problem.message}.", hint=problem.hint, id=problem.id))
        uses_alias = not params.get("LOCATION") and not any(p.id == E_ALIAS for p in problems)
        if uses_alias and raw_aliases is not None and config.alias not in aliases:
            errors.append(
                Error(
                    f"{where}: OPTIONS['ALIAS'] is {config.alias!r}, which settings.WALRUS does "
                    f"not define (configured: {', '.join(sorted(map(str, aliases)))}).",
                    hint=f"Add WALRUS[{config.alias!r}] or name a configured alias.",
                    id=E_ALIAS,
                )
            )
    return errors


def _ping(url: str, options: dict[str, Any]) -> None:
    """PING through a throwaway client whose timeouts are at most PING_TIMEOUT (the alias'
    own pool may wait much longer); RedisError or OSError when the server does not answer."""
    from walrus import Database

    probe = dict(options)
    for name in ("socket_connect_timeout", "socket_timeout"):
        current = probe.get(name)
        probe[name] = PING_TIMEOUT if current is None else min(current, PING_TIMEOUT)
    database = None
    try:
        database = Database.from_url(url, **probe)  # a cluster client connects here
        database.ping()
    finally:
        if database is not None:
            database.disconnect()


@_register("django_walrus", Tags.database, deploy=True)
def check_servers_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Deploy check: every configured server answers PING; no memory:// in production.
    Costs one connection and one round trip per alias (at most PING_TIMEOUT seconds each)."""
    raw, errors = _raw_aliases()
    if raw is None or any(message.is_serious() for message in check_settings()):
        return []  # the settings errors are reported by check_settings
    from redis.exceptions import RedisError

    from .conf import alias_settings, safe_url

    messages: list[CheckMessage] = []
    for alias in raw or {"default": None}:
        config = alias_settings(alias)
        url = config["URL"]
        if url.startswith("memory://"):
            messages.append(
                Warning(
                    f"settings.WALRUS[{alias!r}] uses the embedded memory:// engine: data is "
                    "per process and lost on restart.",
                    id="django_walrus.W003",
                )
            )
            continue
        try:
            _ping(url, config["OPTIONS"])
        except (RedisError, OSError) as exc:
            messages.append(
                Warning(
                    f"settings.WALRUS[{alias!r}]: the server at {safe_url(url)} did not answer "
                    f"PING within {PING_TIMEOUT:g} s ({exc}).",
                    id="django_walrus.W002",
                )
            )
    return messages
