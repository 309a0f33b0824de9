"""Validators of connection settings, shared by the system checks and the runtime.

Pure functions, no I/O: each returns the problems it found as messages (an empty list when
the value can be used), so ``manage.py check`` can report every problem and the runtime can
refuse a bad setting with the same words before anything connects.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "CONNECTION_OPTIONS",
    "DECODE_RESPONSES_PROBLEM",
    "MEMORY_OPTIONS",
    "SCHEMES",
    "decodes_responses",
    "option_problems",
    "url_problems",
]

SCHEMES = (
    "redis://",
    "rediss://",
    "unix://",
    "memory://",
    "redis+cluster://",
    "rediss+cluster://",
    "redis+sentinel://",
    "rediss+sentinel://",
)
"""The URL schemes a ``WALRUS`` alias or cache ``LOCATION`` may use."""

DECODE_RESPONSES_PROBLEM = (
    "decode_responses=True is not supported: the pool is shared by the cache backend, rate "
    "limits and walrus models, which read bytes (cached pickles would fail with "
    "UnicodeDecodeError); decode values where you read them instead"
)
"""Why ``decode_responses=True`` is refused (the check's message)."""


def _seconds_or_none(value: Any) -> bool:
    return value is None or (_number(value) and value > 0)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _path_or_none(value: Any) -> bool:
    import os

    return value is None or isinstance(value, (str, os.PathLike))


def _positive_int_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)


def _cert_reqs(value: Any) -> bool:
    if value is None or isinstance(value, ssl.VerifyMode):
        return True
    return isinstance(value, str) and value.lower() in ("none", "optional", "required")


def _retry_rule(name: str) -> Callable[[Any], bool]:
    from walrus.retry import retry_option_problems

    return lambda value: not retry_option_problems({name: value})


# Option name -> (accepts the value, what was expected). These are the redis-py connection
# pool keyword arguments a WALRUS alias may set through OPTIONS, plus walrus's reconnection
# options (docs/reliability.md).
CONNECTION_OPTIONS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "retries": (
        _retry_rule("retries"),
        "an int >= 0 (resends after a dropped connection; 0 = off)",
    ),
    "retry_backoff": (_retry_rule("retry_backoff"), "a number of seconds >= 0"),
    "retry_backoff_cap": (_retry_rule("retry_backoff_cap"), "a number of seconds >= 0"),
    "request_ids": (_retry_rule("request_ids"), "True or False"),
    "retry": (_retry_rule("retry"), "a redis.retry.Retry"),
    "socket_timeout": (_seconds_or_none, "a positive number of seconds or None"),
    "socket_connect_timeout": (_seconds_or_none, "a positive number of seconds or None"),
    "socket_keepalive": (_bool, "True or False"),
    "retry_on_timeout": (_bool, "True or False"),
    "max_connections": (_positive_int_or_none, "a positive int or None"),
    "health_check_interval": (
        lambda v: _number(v) and v >= 0,
        "a number of seconds >= 0 (0 = off)",
    ),
    "client_name": (_str_or_none, "a string or None"),
    "username": (_str_or_none, "a string or None"),
    "password": (_str_or_none, "a string or None"),
    "decode_responses": (_bool, "False"),
    "protocol": (lambda v: v in (2, 3) and not isinstance(v, bool), "2 or 3"),
    "ssl_cert_reqs": (_cert_reqs, "'none', 'optional', 'required', an ssl.VerifyMode or None"),
    "ssl_check_hostname": (_bool, "True or False"),
    "ssl_ca_certs": (_path_or_none, "a file path or None"),
    "ssl_certfile": (_path_or_none, "a file path or None"),
    "ssl_keyfile": (_path_or_none, "a file path or None"),
}
"""Connection options an alias may set: each name's validity test and a description of what it
expects (used in error messages)."""

# What the embedded memory:// engine accepts (timeouts and pool sizes are ignored there).
MEMORY_OPTIONS = frozenset(
    {
        "socket_timeout",
        "socket_connect_timeout",
        "retry_on_timeout",
        "health_check_interval",
        "max_connections",
        "client_name",
        "protocol",
        "decode_responses",
        "retries",
        "retry_backoff",
        "retry_backoff_cap",
        "request_ids",
        "retry",
    }
)
"""The options the embedded ``memory://`` engine accepts (timeouts and pool sizes mean nothing
there)."""


def decodes_responses(options: Mapping[str, Any], url: Any = None) -> bool:
    """Whether OPTIONS (or the URL's ``?decode_responses=``) turn response decoding on. No Redis
    work."""
    if options.get("decode_responses") is True:
        return True
    if isinstance(url, str) and "?" in url:
        values = parse_qs(urlsplit(url).query).get("decode_responses", [])
        return any(v.lower() in ("1", "true", "yes", "on", "y") for v in values)
    return False


def option_problems(options: Mapping[str, Any], url: Any = None) -> list[str]:
    """Unknown options and values of the wrong type (``decode_responses=True`` is left to
    ``decodes_responses``). ``url`` narrows the allowed names for ``memory://``. No Redis work."""
    problems: list[str] = []
    unknown = sorted(str(name) for name in options if name not in CONNECTION_OPTIONS)
    if unknown:
        problems.append(
            f"unknown options: {', '.join(unknown)} (allowed: {', '.join(sorted(CONNECTION_OPTIONS))})"
        )
    for name, value in options.items():
        rule = CONNECTION_OPTIONS.get(name)
        if rule is not None and not rule[0](value):
            problems.append(f"{name!r} must be {rule[1]}, got {value!r}")
    if options.get("retry") is not None and any(
        n in options for n in ("retries", "retry_backoff", "retry_backoff_cap")
    ):
        problems.append(
            "give either 'retry' (a Retry object) or retries/retry_backoff/retry_backoff_cap, not both"
        )
    if isinstance(url, str) and url.lower().startswith("memory://"):
        foreign = sorted(
            str(n) for n in options if n in CONNECTION_OPTIONS and n not in MEMORY_OPTIONS
        )
        if foreign:
            problems.append(f"the embedded memory:// engine does not take {', '.join(foreign)}")
    return problems


def _db_problem(path: str) -> str:
    db = path.strip("/")
    if db and not db.isdigit():
        return f"the database number must be a non-negative integer, got {db!r}"
    return ""


def url_problems(url: Any) -> list[str]:
    """Why ``url`` cannot be used as a WALRUS URL or a cache LOCATION (empty if it can).
    Messages never contain the URL's password. No Redis work."""
    from .conf import safe_url

    if not isinstance(url, str) or not url.lower().startswith(SCHEMES):
        shown = safe_url(url) if isinstance(url, str) else repr(url)
        return [
            "must be a redis://, rediss://, unix://, memory://, redis+cluster:// or "
            f"redis+sentinel:// URL, got {shown!r}"
        ]
    scheme = url.split("://", 1)[0].lower()
    problems: list[str] = []
    try:
        if scheme.endswith("+cluster"):
            from walrus.cluster import parse_cluster_url

            parse_cluster_url(url)
        elif scheme.endswith("+sentinel"):
            from walrus.cluster import parse_sentinel_url

            parse_sentinel_url(url)
        elif scheme == "memory":
            from walrus.embedded import parse_memory_url

            parse_memory_url(url)
        else:
            parts = urlsplit(url)
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
            if scheme in ("redis", "rediss"):
                if not parts.hostname:
                    problems.append("no host name")
                problem = _db_problem(parts.path)
                if problem:
                    problems.append(problem)
            elif not parts.path:
                problems.append("no socket path")
            from redis.connection import parse_url

            parse_url(url)  # query arguments (db=, socket_timeout=, ...)
        if "?" in url:
            from walrus.retry import RETRY_OPTIONS, retry_option_problems

            query = {
                k: v[-1] for k, v in parse_qs(urlsplit(url).query).items() if k in RETRY_OPTIONS
            }
            problems.extend(f"URL query: {p}" for p in retry_option_problems(query, from_url=True))
    except ValueError as exc:
        problems.append(str(exc).replace(url, safe_url(url)))
    return problems
