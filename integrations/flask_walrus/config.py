"""The ``WALRUS_*`` configuration keys of flask_walrus: defaults, reading and validation.

Everything is read once, in ``Walrus.init_app``; a bad value raises ``ValueError`` or
``TypeError`` there, naming the key and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from walrus import Database
from walrus.cache import check_timeout
from walrus.compression import get_compressor
from walrus.rate_limit import (
    DEFAULT_STRATEGY,
    HEADER_STYLES,
    ON_ERROR_POLICIES,
    Rate,
    check_strategy,
    check_trusted_proxies,
    parse_rates,
)
from walrus.retry import retry_option_problems
from walrus.serializers import PickleSerializer, SignedSerializer, get_serializer
from walrus.urls import check_url
from walrus.urls import redact_url as safe_url

__all__ = [
    "DEFAULTS",
    "HEADER_MODES",
    "ON_ERROR_POLICIES",
    "Settings",
    "connect",
    "read_settings",
    "safe_url",
]

HEADER_MODES = HEADER_STYLES  # "x-ratelimit", "ietf", "both", "none" (walrus.rate_limit)
"""Values of ``WALRUS_RATELIMIT_HEADERS`` (`walrus.rate_limit.headers.HEADER_STYLES`)."""

DEFAULTS: dict[str, Any] = {
    "WALRUS_URL": "redis://localhost:6379/0",
    "WALRUS_SOCKET_TIMEOUT": 0.5,
    "WALRUS_SOCKET_CONNECT_TIMEOUT": None,  # None: same as WALRUS_SOCKET_TIMEOUT
    "WALRUS_CONNECTION_OPTIONS": {},
    # Reconnection (docs/reliability.md); None: the walrus default (3 resends, 0.05 s .. 1 s).
    "WALRUS_RETRIES": None,
    "WALRUS_RETRY_BACKOFF": None,
    "WALRUS_RETRY_BACKOFF_CAP": None,
    "WALRUS_REQUEST_IDS": None,
    "WALRUS_KEY_PREFIX": "flask_walrus",
    "WALRUS_PREFIXES": [],
    "WALRUS_CACHE_DEFAULT_TIMEOUT": 300,
    "WALRUS_CACHE_SERIALIZER": None,  # None: pickle when values are signed, else json
    "WALRUS_CACHE_SIGNING_KEY": None,  # None: the app's SECRET_KEY when set
    "WALRUS_CACHE_COMPRESSOR": None,  # "zlib", "lzma", "zstd", "lz4" (walrus.compression)
    "WALRUS_CACHE_COMPRESS_MIN_LENGTH": 1024,  # bytes
    "WALRUS_CACHE_COMPRESS_LEVEL": None,  # None: the algorithm's default
    "WALRUS_RATELIMIT_ENABLED": True,
    "WALRUS_RATELIMIT_DEFAULT": None,
    "WALRUS_RATELIMIT_APPLICATION": None,  # rates on one budget shared by every view
    "WALRUS_RATELIMIT_STRATEGY": DEFAULT_STRATEGY,
    "WALRUS_RATELIMIT_ON_ERROR": "allow",
    "WALRUS_RATELIMIT_TRUSTED_PROXIES": 0,
    "WALRUS_RATELIMIT_HEADERS": "x-ratelimit",
    "WALRUS_RATELIMIT_HEADER_LIMIT": "X-RateLimit-Limit",
    "WALRUS_RATELIMIT_HEADER_REMAINING": "X-RateLimit-Remaining",
    "WALRUS_RATELIMIT_HEADER_RESET": "X-RateLimit-Reset",
    "WALRUS_RATELIMIT_HEADER_RETRY_AFTER": "Retry-After",
}
"""Every ``WALRUS_*`` config key ``init_app`` reads, with the value used when the app's config
leaves it out (see docs/flask.md)."""


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one app."""

    url: str
    connection_options: dict[str, Any]
    key_prefix: str
    prefixes: tuple[str, ...]
    cache_default_timeout: float | None
    cache_serializer: Any
    cache_signing_key: bytes | str | None
    cache_compression: dict[str, Any]
    ratelimit_enabled: bool
    default_rates: tuple[Rate, ...]
    on_error: str
    trusted_proxies: int
    header_mode: str
    header_limit: str
    header_remaining: str
    header_reset: str
    header_retry_after: str
    application_rates: tuple[Rate, ...] = ()
    strategy: str = DEFAULT_STRATEGY

    @property
    def default_limits(self) -> tuple[Rate, ...]:
        """Old name of ``default_rates``, kept readable for one release."""
        return self.default_rates

    @property
    def application_limits(self) -> tuple[Rate, ...]:
        """Old name of ``application_rates``, kept readable for one release."""
        return self.application_rates


def read_rates(value: Any, what: str) -> tuple[Rate, ...]:
    """The rates of a setting or option: ``"5/minute"``, ``"5/minute; 100/hour"``, a list of
    such strings or of ``(limit, per)`` (``walrus.rate_limit.parse_rates``; an empty string is
    refused as a likely mistake). No Redis work."""
    if isinstance(value, str) and not value.replace(",", ";").replace(";", "").strip():
        raise ValueError(f"{what}: empty rate string {value!r}")
    if value is not None and not isinstance(value, (str, list, tuple)):
        raise TypeError(
            f"{what} must be a rate string like '5/minute' or a list of them, got {value!r}"
        )
    return parse_rates(value, what)


parse_limits = read_rates  # old name, kept importable


def _checked(key: str, check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``, its TypeError/ValueError re-raised with the config ``key`` in front
    (the core's own checks, so that a value init_app accepts is one the core accepts)."""
    try:
        return check(*args)
    except (TypeError, ValueError) as exc:  # UnicodeError too (a ValueError)
        raise (TypeError if isinstance(exc, TypeError) else ValueError)(f"{key}: {exc}") from None


def _number(config: Mapping[str, Any], key: str, allow_none: bool = True) -> float | None:
    value = config.get(key, DEFAULTS[key])
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(
            f"{key} must be a number of seconds >= 0{' or None' if allow_none else ''}, "
            f"got {value!r}"
        )
    return float(value)


def _choice(config: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = config.get(key, DEFAULTS[key])
    normalized = value.lower() if isinstance(value, str) else value
    if normalized not in choices:
        raise ValueError(
            f"{key} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}"
        )
    return str(normalized)


def _name(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key, DEFAULTS[key])
    if (
        not isinstance(value, str)
        or not value
        or not value.isascii()
        or any(c in value for c in " :\r\n")
    ):
        raise ValueError(f"{key} must be a non-empty header name, got {value!r}")
    return value


_RETRY_KEYS = {
    "WALRUS_RETRIES": "retries",
    "WALRUS_RETRY_BACKOFF": "retry_backoff",
    "WALRUS_RETRY_BACKOFF_CAP": "retry_backoff_cap",
    "WALRUS_REQUEST_IDS": "request_ids",
}


def _retry_options(config: Mapping[str, Any], options: dict[str, Any]) -> None:
    """Fold WALRUS_RETRIES & co into the connection options and validate every retry option
    (ValueError naming the config key)."""
    for key, option in _RETRY_KEYS.items():
        value = config.get(key)
        if value is None:
            continue
        if option in options or (option != "request_ids" and options.get("retry") is not None):
            raise ValueError(
                f"{key} and WALRUS_CONNECTION_OPTIONS[{option!r}] (or 'retry') "
                "are both set: keep one"
            )
        problems = retry_option_problems({option: value})
        if problems:
            raise ValueError(f"{key}: {problems[0]}")
        options[option] = value
    problems = retry_option_problems(options)
    if problems:
        raise ValueError(f"WALRUS_CONNECTION_OPTIONS: {'; '.join(problems)}")


def read_settings(config: Mapping[str, Any], secret_key: Any = None) -> Settings:
    """Validate the ``WALRUS_*`` keys of a Flask config into ``Settings``. No Redis work."""
    unknown = sorted(k for k in config if k.startswith("WALRUS_") and k not in DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown flask_walrus config key(s): {', '.join(unknown)} "
            f"(known: {', '.join(sorted(DEFAULTS))})"
        )
    # walrus.urls judges the URL as Database.from_url will read it (scheme, host, port, db,
    # query), before anything connects; the message names the key and hides the password.
    url = check_url(config.get("WALRUS_URL", DEFAULTS["WALRUS_URL"]), "WALRUS_URL")
    options = config.get("WALRUS_CONNECTION_OPTIONS", DEFAULTS["WALRUS_CONNECTION_OPTIONS"]) or {}
    if not isinstance(options, Mapping):
        raise TypeError(
            f"WALRUS_CONNECTION_OPTIONS must be a dict of redis-py options, got {options!r}"
        )
    options = dict(options)
    timeout = _number(config, "WALRUS_SOCKET_TIMEOUT")
    connect = _number(config, "WALRUS_SOCKET_CONNECT_TIMEOUT")
    options.setdefault("socket_timeout", timeout)
    options.setdefault("socket_connect_timeout", timeout if connect is None else connect)
    _retry_options(config, options)

    key_prefix = config.get("WALRUS_KEY_PREFIX", DEFAULTS["WALRUS_KEY_PREFIX"])
    if not isinstance(key_prefix, str) or not key_prefix:
        raise ValueError(f"WALRUS_KEY_PREFIX must be a non-empty str, got {key_prefix!r}")
    prefixes = config.get("WALRUS_PREFIXES", DEFAULTS["WALRUS_PREFIXES"]) or []
    if not isinstance(prefixes, (list, tuple)) or not all(
        isinstance(p, str) and p for p in prefixes
    ):
        raise ValueError(
            f"WALRUS_PREFIXES must be a list of non-empty key prefixes, got {prefixes!r}"
        )

    trusted = check_trusted_proxies(
        config.get("WALRUS_RATELIMIT_TRUSTED_PROXIES", 0), "WALRUS_RATELIMIT_TRUSTED_PROXIES"
    )
    cache_timeout = _number(config, "WALRUS_CACHE_DEFAULT_TIMEOUT")
    _checked("WALRUS_CACHE_DEFAULT_TIMEOUT", check_timeout, cache_timeout)
    serializer, signing_key = _cache_codec(config, secret_key)
    enabled = config.get("WALRUS_RATELIMIT_ENABLED", True)
    if not isinstance(enabled, bool):
        raise TypeError(f"WALRUS_RATELIMIT_ENABLED must be True or False, got {enabled!r}")
    return Settings(
        url=url,
        connection_options=options,
        key_prefix=key_prefix,
        prefixes=tuple(prefixes),
        cache_default_timeout=cache_timeout,
        cache_serializer=serializer,
        cache_signing_key=signing_key,
        cache_compression=_compression(config),
        ratelimit_enabled=enabled,
        default_rates=read_rates(
            config.get("WALRUS_RATELIMIT_DEFAULT"), "WALRUS_RATELIMIT_DEFAULT"
        ),
        on_error=_choice(config, "WALRUS_RATELIMIT_ON_ERROR", ON_ERROR_POLICIES),
        trusted_proxies=trusted,
        header_mode=_choice(config, "WALRUS_RATELIMIT_HEADERS", HEADER_MODES),
        header_limit=_name(config, "WALRUS_RATELIMIT_HEADER_LIMIT"),
        header_remaining=_name(config, "WALRUS_RATELIMIT_HEADER_REMAINING"),
        header_reset=_name(config, "WALRUS_RATELIMIT_HEADER_RESET"),
        header_retry_after=_name(config, "WALRUS_RATELIMIT_HEADER_RETRY_AFTER"),
        application_rates=read_rates(
            config.get("WALRUS_RATELIMIT_APPLICATION"), "WALRUS_RATELIMIT_APPLICATION"
        ),
        strategy=_checked(
            "WALRUS_RATELIMIT_STRATEGY",
            check_strategy,
            config.get("WALRUS_RATELIMIT_STRATEGY", DEFAULT_STRATEGY),
        ),
    )


def connect(settings: Settings) -> Database:
    """The app's Database (no connection yet, except to read a cluster's slot map).
    ``Database.from_url`` is the judge of the URL's port and query string and of the
    connection options: its TypeError/ValueError is re-raised naming the config keys, with
    the URL's password masked. No Redis work: the Database connects on first use."""
    try:
        return Database.from_url(settings.url, **settings.connection_options)
    except (TypeError, ValueError) as exc:
        message = str(exc).replace(settings.url, safe_url(settings.url))
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(
            f"WALRUS_URL {safe_url(settings.url)!r} (with WALRUS_CONNECTION_OPTIONS): {message}"
        ) from None


def _cache_codec(config: Mapping[str, Any], secret_key: Any) -> tuple[Any, Any]:
    """The cache's serializer spec and signing key, checked as the core ``Cache`` will use
    them; an error names the config key the value came from."""
    key_source = (
        "WALRUS_CACHE_SIGNING_KEY" if config.get("WALRUS_CACHE_SIGNING_KEY") else "SECRET_KEY"
    )
    signing_key = config.get("WALRUS_CACHE_SIGNING_KEY") or secret_key or None
    spec = config.get("WALRUS_CACHE_SERIALIZER")
    if spec is None:
        # Unsigned pickles would run whatever anyone able to write to Redis planted there.
        spec = "pickle" if signing_key else "json"
    inner = _checked("WALRUS_CACHE_SERIALIZER", get_serializer, spec)
    if signing_key:
        _checked(f"{key_source} (the cache's signing key)", SignedSerializer, inner, signing_key)
    elif isinstance(inner, PickleSerializer):
        raise ValueError(
            "WALRUS_CACHE_SERIALIZER='pickle' needs signed values: set SECRET_KEY or "
            "WALRUS_CACHE_SIGNING_KEY (an unsigned pickle planted in Redis would run code when "
            "read), or use WALRUS_CACHE_SERIALIZER='json'"
        )
    return spec, signing_key


def _compression(config: Any) -> dict[str, Any]:
    """The ``Cache`` keyword arguments of the WALRUS_CACHE_COMPRESS* settings, checked here
    so that init_app fails, not the first request."""
    name = config.get("WALRUS_CACHE_COMPRESSOR")
    try:
        compressor = get_compressor(name)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"WALRUS_CACHE_COMPRESSOR: {exc}") from None
    if compressor is None:
        return {}
    min_length = config.get("WALRUS_CACHE_COMPRESS_MIN_LENGTH", 1024)
    if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 0:
        raise ValueError(
            f"WALRUS_CACHE_COMPRESS_MIN_LENGTH must be an int >= 0 (bytes), got {min_length!r}"
        )
    level = config.get("WALRUS_CACHE_COMPRESS_LEVEL")
    try:
        compressor.check_level(level)
    except ValueError as exc:
        raise ValueError(f"WALRUS_CACHE_COMPRESS_LEVEL: {exc}") from None
    return {
        "compressor": compressor.name,
        "compress_min_length": min_length,
        "compress_level": level,
    }
