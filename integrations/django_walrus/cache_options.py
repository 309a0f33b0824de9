"""The OPTIONS of a ``WalrusCache``, read once, every problem named with its check id.

``read_cache_options`` never raises: it returns usable settings (defaults where a value was
bad) and the list of problems. The system checks report the problems; the backend refuses
to talk to Redis while there are any. Reading costs no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from walrus.codec import ValueCodec
from walrus.compression import get_compressor
from walrus.exceptions import WalrusError
from walrus.retry import retry_option_problems
from walrus.urls import decodes_responses, option_problems, url_problems

from .conf import DECODE_RESPONSES_PROBLEM

__all__ = [
    "CACHE_OPTIONS",
    "POOL_OPTIONS",
    "RETRY_CACHE_OPTIONS",
    "CacheSettings",
    "Problem",
    "read_cache_options",
]

E_DECODE = "django_walrus.E007"
E_UNKNOWN = "django_walrus.E010"
E_SERIALIZER = "django_walrus.E011"
E_ALIAS = "django_walrus.E012"
E_POOL_WITH_ALIAS = "django_walrus.E013"
E_LOCATION = "django_walrus.E014"
E_VALUE = "django_walrus.E015"

# Reconnection options (docs/reliability.md) -> the connection option each one sets.
RETRY_CACHE_OPTIONS = {
    "RETRIES": "retries",
    "RETRY_BACKOFF": "retry_backoff",
    "RETRY_BACKOFF_CAP": "retry_backoff_cap",
    "REQUEST_IDS": "request_ids",
}
"""The cache's reconnection options (docs/reliability.md) and the connection option each one
sets."""
# Options that configure a pool of the cache's own, so they need a LOCATION: with an alias
# the pool is shared, and changing it from one cache would change it for every user.
POOL_OPTIONS = (
    "SOCKET_TIMEOUT",
    "SOCKET_CONNECT_TIMEOUT",
    "CONNECTION_POOL_KWARGS",
    "CLOSE_CONNECTION",
    *RETRY_CACHE_OPTIONS,
)
"""Options that configure a connection pool of the cache's own, so they need a ``LOCATION``: with
an ``ALIAS`` the pool is shared with other users."""
CACHE_OPTIONS = frozenset(
    {
        "ALIAS",
        "SERIALIZER",
        "SIGN",
        "SIGNING_KEY",
        "COMPRESSOR",
        "REPLICAS",
        "COMPRESS_MIN_LENGTH",
        "COMPRESS_LEVEL",
        "IGNORE_EXCEPTIONS",
        "CLEAR_PATTERN",
        "BATCH_READS",
        *POOL_OPTIONS,
    }
)
"""Every key the cache backend accepts in ``OPTIONS``; any other is reported as problem
``django_walrus.E010``."""
# What users of django-redis may bring along, and what to do instead.
_FOREIGN_HINTS = {
    "CLIENT_CLASS": "not needed",
    "PARSER_CLASS": "redis-py picks hiredis by itself when it is installed",
    "CONNECTION_POOL_CLASS": "not supported",
    "PASSWORD": "put the password in LOCATION (redis://:password@host) or in WALRUS OPTIONS",
    "SOCKET_KEEPALIVE": "put socket_keepalive in CONNECTION_POOL_KWARGS",
}


class Problem(NamedTuple):
    """One configuration problem: the system check id, the message and a hint."""

    id: str
    message: str
    hint: str | None = None


@dataclass
class CacheSettings:
    """What a ``WalrusCache`` runs with."""

    location: str | None = None
    replicas: tuple[str, ...] = ()
    alias: str = "default"
    codec: ValueCodec = field(default_factory=lambda: ValueCodec(raw_ints=True))
    ignore_exceptions: bool = False
    batch_reads: bool = True
    clear_pattern: str | None = None
    pool_kwargs: dict[str, Any] = field(default_factory=dict)
    close_connection: bool = False


def _seconds(value: Any) -> bool:
    return value is None or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    )


def _location(server: Any, problems: list[Problem]) -> tuple[str | None, tuple[str, ...]]:
    """(primary URL, replica URLs) of LOCATION: one URL, or a list (or a ``,``/``;``
    separated string, as django-redis takes it) whose first URL is the primary."""
    if isinstance(server, str) and ("," in server or ";" in server):
        parts = [part.strip() for part in server.replace(";", ",").split(",") if part.strip()]
        # "redis+cluster://h1:7000,h2:7000" is one URL: split only a list of whole URLs.
        if all("://" in part for part in parts):
            server = parts
    urls = list(server) if isinstance(server, (list, tuple)) else [server]
    if not urls or not urls[0]:
        return None, ()
    checked = []
    for url in urls:
        found = url_problems(url)
        for problem in found:
            problems.append(Problem(E_LOCATION, f"LOCATION: {problem}"))
        if not found and isinstance(url, str):
            checked.append(url)
    if len(checked) != len(urls):
        return None, ()
    return checked[0], tuple(checked[1:])


def _replicas(options: dict[str, Any], problems: list[Problem]) -> tuple[str, ...]:
    raw = options.get("REPLICAS", ())
    if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
        problems.append(
            Problem(E_VALUE, f"OPTIONS['REPLICAS'] must be a list of redis:// URLs, got {raw!r}")
        )
        return ()
    found = []
    for url in raw:
        errors = url_problems(url)
        for problem in errors:
            problems.append(Problem(E_VALUE, f"OPTIONS['REPLICAS']: {problem}"))
        if not errors:
            found.append(url)
    return tuple(found)


def _bool_option(
    options: dict[str, Any], name: str, default: bool, problems: list[Problem]
) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        problems.append(Problem(E_VALUE, f"OPTIONS[{name!r}] must be True or False, got {value!r}"))
        return default
    return value


def _codec(options: dict[str, Any], problems: list[Problem]) -> ValueCodec:
    sign = _bool_option(options, "SIGN", True, problems)
    signing_key = options.get("SIGNING_KEY")
    if signing_key is not None and not (isinstance(signing_key, (str, bytes)) and signing_key):
        problems.append(Problem(E_VALUE, "OPTIONS['SIGNING_KEY'] must be a non-empty str or bytes"))
        signing_key = None
    if sign and not signing_key:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        try:
            signing_key = settings.SECRET_KEY
        except ImproperlyConfigured:
            signing_key = None
        if not signing_key:
            problems.append(
                Problem(
                    E_VALUE,
                    "signing values (OPTIONS['SIGN'], on by default) needs SECRET_KEY or "
                    "OPTIONS['SIGNING_KEY']",
                    "or set OPTIONS['SIGN'] = False",
                )
            )
    # COMPRESSOR: a walrus.compression name or a django-redis compressor class path. Given
    # alone it compresses values of 15 bytes and more at the algorithm's default level, as
    # django-redis does; without it, COMPRESS_MIN_LENGTH turns on zlib (level 6).
    named = "COMPRESSOR" in options
    try:
        compressor = get_compressor(options.get("COMPRESSOR", "zlib"))
    except (ValueError, TypeError, WalrusError) as exc:
        problems.append(
            Problem(
                E_VALUE,
                f"OPTIONS['COMPRESSOR']: {exc}",
                "use 'zlib', 'lzma', 'zstd', 'lz4' or None",
            )
        )
        compressor = None
    min_length = options.get(
        "COMPRESS_MIN_LENGTH", 15 if named and compressor is not None else None
    )
    if min_length is not None and (
        not isinstance(min_length, int) or isinstance(min_length, bool) or min_length < 0
    ):
        problems.append(
            Problem(
                E_VALUE,
                f"OPTIONS['COMPRESS_MIN_LENGTH'] must be an int >= 0 or None, got {min_length!r}",
            )
        )
        min_length = None
    level = options.get("COMPRESS_LEVEL", None if named else 6)
    if compressor is not None:
        try:
            compressor.check_level(level)
        except ValueError as exc:
            problems.append(Problem(E_VALUE, f"OPTIONS['COMPRESS_LEVEL']: {exc}"))
            level = None
    name = compressor.name if compressor is not None else None
    serializer = options.get("SERIALIZER", "pickle")
    try:
        return _value_codec(serializer, signing_key if sign else None, min_length, level, name)
    except (ValueError, TypeError, WalrusError) as exc:
        problems.append(
            Problem(
                E_SERIALIZER,
                f"OPTIONS['SERIALIZER']: {exc}",
                "use 'pickle', 'json', 'msgpack' or an object with dumps() and loads()",
            )
        )
        return _value_codec("pickle", signing_key if sign else None, min_length, level, name)


def _value_codec(
    serializer: Any, key: Any, min_length: int | None, level: int | None, name: str | None
) -> ValueCodec:
    """The core's codec (one stored format for the three caches), with Django's contract: an
    int is stored as a counter, so ``incr`` adds to what ``set`` wrote."""
    return ValueCodec(serializer, key, name, min_length, level, raw_ints=True)


def _pool_kwargs(
    options: dict[str, Any], location: str | None, problems: list[Problem]
) -> dict[str, Any]:
    raw = options.get("CONNECTION_POOL_KWARGS") or {}
    if not isinstance(raw, dict):
        problems.append(
            Problem(
                E_VALUE,
                f"OPTIONS['CONNECTION_POOL_KWARGS'] must be a dict, got {type(raw).__name__}",
            )
        )
        raw = {}
    kwargs = dict(raw)
    for name in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"):
        if name in options:
            if not _seconds(options[name]):
                problems.append(
                    Problem(
                        E_VALUE,
                        f"OPTIONS[{name!r}] must be a positive number of seconds or None, "
                        f"got {options[name]!r}",
                    )
                )
            else:
                kwargs[name.lower()] = options[name]
    for name, option in RETRY_CACHE_OPTIONS.items():
        if name in options:
            if option in raw:
                problems.append(
                    Problem(
                        E_VALUE,
                        f"OPTIONS[{name!r}] and OPTIONS['CONNECTION_POOL_KWARGS'][{option!r}] "
                        "are both set: keep one",
                    )
                )
                continue
            problem = retry_option_problems({option: options[name]})
            if problem:
                problems.append(Problem(E_VALUE, f"OPTIONS[{name!r}]: {problem[0]}"))
            else:
                kwargs[option] = options[name]
    for message in option_problems(raw, location):
        problems.append(Problem(E_VALUE, f"OPTIONS['CONNECTION_POOL_KWARGS']: {message}"))
    if decodes_responses(kwargs, location):
        problems.append(Problem(E_DECODE, DECODE_RESPONSES_PROBLEM))
    return kwargs


def read_cache_options(server: Any, options: Any) -> tuple[CacheSettings, list[Problem]]:
    """Settings of a cache with this LOCATION (``server``) and OPTIONS, and its problems.

    Whether ``OPTIONS["ALIAS"]`` names a configured WALRUS alias is left to the system check
    (the setting may change after the cache is built); the backend raises KeyError on use.
    No Redis work."""
    problems: list[Problem] = []
    if options is None:
        options = {}
    if not isinstance(options, dict):
        problems.append(Problem(E_VALUE, f"OPTIONS must be a dict, got {type(options).__name__}"))
        options = {}
    unknown = sorted(str(name) for name in options if name not in CACHE_OPTIONS)
    for name in unknown:
        hint = _FOREIGN_HINTS.get(name) or f"allowed: {', '.join(sorted(CACHE_OPTIONS))}"
        problems.append(Problem(E_UNKNOWN, f"unknown OPTIONS[{name!r}]", hint))
    primary, replicas = _location(server, problems)
    config = CacheSettings(location=primary, replicas=replicas + _replicas(options, problems))
    alias = options.get("ALIAS")
    if alias is not None and not (isinstance(alias, str) and alias):
        problems.append(
            Problem(E_ALIAS, f"OPTIONS['ALIAS'] must be the name of a WALRUS alias, got {alias!r}")
        )
        alias = None
    if config.location and alias:
        problems.append(Problem(E_LOCATION, "set LOCATION or OPTIONS['ALIAS'], not both"))
    config.alias = alias or "default"
    if not server:
        shared = [name for name in POOL_OPTIONS if name in options]
        if shared:
            problems.append(
                Problem(
                    E_POOL_WITH_ALIAS,
                    f"OPTIONS {', '.join(shared)} need a LOCATION: this cache uses the shared "
                    f"pool of WALRUS alias {config.alias!r}, which one cache must not reconfigure",
                    f"set the timeouts in WALRUS[{config.alias!r}]['OPTIONS'] (socket_timeout, "
                    "socket_connect_timeout, ...), or give the cache its own LOCATION",
                )
            )
    config.codec = _codec(options, problems)
    config.ignore_exceptions = _bool_option(options, "IGNORE_EXCEPTIONS", False, problems)
    config.close_connection = _bool_option(options, "CLOSE_CONNECTION", False, problems)
    config.batch_reads = _bool_option(options, "BATCH_READS", True, problems)
    clear_pattern = options.get("CLEAR_PATTERN")
    if clear_pattern is not None and not (isinstance(clear_pattern, str) and clear_pattern):
        problems.append(
            Problem(
                E_VALUE,
                f"OPTIONS['CLEAR_PATTERN'] must be a non-empty glob string, got {clear_pattern!r}",
            )
        )
        clear_pattern = None
    config.clear_pattern = clear_pattern
    config.pool_kwargs = _pool_kwargs(options, config.location, problems)
    return config, problems
