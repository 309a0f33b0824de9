"""Connection URLs: the one place the suite reads them.

Every entry point that takes a URL goes through this module: ``Database.from_url``,
``ClusterDatabase.from_url``, limpyd's ``RedisDatabase.from_url``, the Django ``WALRUS``
setting and cache ``LOCATION`` (system checks and runtime), Flask's ``WALRUS_URL`` and
Celery's ``walrus_url``. It splits URLs (single-server, cluster, Sentinel, ``memory://``),
moves walrus's reconnection options out of the query string, validates URLs and connection
options into messages, and hides passwords in anything it prints. Pure functions: no I/O.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from redis.connection import SSLConnection, parse_url

from .retry import RETRY_OPTIONS, retry_option_problems

__all__ = [
    "CLUSTER_SCHEMES",
    "CONNECTION_OPTIONS",
    "MEMORY_OPTIONS",
    "SCHEMES",
    "SENTINEL_SCHEMES",
    "SERVER_SCHEMES",
    "check_url",
    "decodes_responses",
    "option_problems",
    "parse_cluster_url",
    "parse_memory_url",
    "parse_sentinel_url",
    "redact_url",
    "server_kwargs",
    "unsupported_scheme",
    "url_problems",
    "url_retry_options",
    "url_scheme",
]

SERVER_SCHEMES = ("redis", "rediss", "unix")
"""URL schemes of one server (TCP, TLS, Unix socket)."""
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
"""URL schemes that connect to a Redis Cluster (`ClusterDatabase`)."""
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
"""URL schemes that find the primary through Redis Sentinel."""
SCHEMES = (*SERVER_SCHEMES, "memory", *CLUSTER_SCHEMES, *SENTINEL_SCHEMES)
"""Every scheme a walrus URL may use."""

_EXPECTED = "a redis://, rediss://, unix://, memory://, redis+cluster:// or redis+sentinel:// URL"


def url_scheme(url: str) -> str:
    """The lower-case scheme of ``url`` (``""`` when it has none). TypeError when ``url`` is
    not a str. No Redis work."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    return url.split("://", 1)[0].lower() if "://" in url else ""


def unsupported_scheme(url: str, allowed: Sequence[str]) -> ValueError:
    """The error for ``url`` whose scheme is not one of ``allowed`` (password hidden). No
    Redis work."""
    expected = ", ".join(f"{scheme}://" for scheme in allowed)
    return ValueError(
        f"unsupported URL scheme {url_scheme(url)!r} in {redact_url(url)!r}: expected {expected}"
    )


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs (also a URL that
    does not parse, and a Sentinel URL's lone ``password@``). No Redis work."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparsable (e.g. "redis://[::1"): hide whatever precedes an "@"
        return "***@" + url.rpartition("@")[2] if "@" in url else url
    if parts.scheme.lower().endswith("+sentinel") and parts.username and parts.password is None:
        # In a redis+sentinel:// URL a lone "secret@" is the data servers' password.
        return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _shown(url: Any) -> str:
    return repr(redact_url(url)) if isinstance(url, str) else repr(url)


# -- splitting ------------------------------------------------------------------------------


def url_retry_options(url: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Move ``retries``/``retry_backoff``/``retry_backoff_cap``/``request_ids`` from the URL's
    query string into the keyword arguments (keyword arguments win). No Redis work."""
    if "?" not in url:
        return url, kwargs
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    found = {name: value for name, value in query if name in RETRY_OPTIONS}
    if not found:
        return url, kwargs
    rest = urlencode([(name, value) for name, value in query if name not in RETRY_OPTIONS])
    # Rebuilt by hand: urlunsplit drops the empty authority of unix:///path ("unix:/path").
    base, _, tail = url.partition("?")
    _, mark, fragment = tail.partition("#")
    return f"{base}{'?' if rest else ''}{rest}{mark}{fragment}", {**found, **kwargs}


def server_kwargs(url: str) -> dict[str, Any]:
    """``redis://``, ``rediss://`` or ``unix://`` -> ``redis.Redis`` keyword arguments (host,
    port, db, credentials, query options; ``ssl=True``, ``unix_socket_path``), walrus's retry
    options included. ValueError for another scheme or a malformed URL. No Redis work."""
    scheme = url_scheme(url)
    if scheme not in SERVER_SCHEMES:
        raise ValueError(f"expected a redis://, rediss:// or unix:// URL, got {_shown(url)}")
    url, retry = url_retry_options(url, {})
    options = dict(parse_url(url))
    # parse_url names a connection class; redis.Redis takes the equivalent keywords.
    connection_class = options.pop("connection_class", None)
    if connection_class is not None and issubclass(connection_class, SSLConnection):
        options["ssl"] = True
    if "path" in options:
        options["unix_socket_path"] = options.pop("path")
    return {**options, **retry}


def _split_hosts(
    url: str, schemes: Sequence[str]
) -> tuple[str, str, list[tuple[str, int]], str, str]:
    """``(scheme, userinfo, [(host, port)], path, query)`` of a multi-host URL."""
    scheme = url_scheme(url)
    if not scheme:
        raise ValueError(f"not a URL: {url!r}")
    if scheme not in schemes:
        raise ValueError(
            f"unsupported URL scheme {scheme!r} in {url!r}: expected one of {', '.join(schemes)}"
        )
    rest, _, query = url.split("://", 1)[1].partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    if not at:
        userinfo, hostlist = "", netloc
    hosts = [_host_port(item.strip(), url) for item in hostlist.split(",")]
    return scheme, userinfo, hosts, (slash + path), query


def _host_port(item: str, url: str) -> tuple[str, int]:
    if not item:
        raise ValueError(f"empty host in {url!r}: expected host:port[,host:port...]")
    if item.startswith("["):  # [ipv6]:port
        host, _, tail = item[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port_text = item.rpartition(":") if ":" in item else (item, "", "")
    try:
        port = int(port_text) if port_text else 6379
    except ValueError:
        raise ValueError(f"bad port in host {item!r} of {url!r}") from None
    if not host or not 0 < port < 65536:
        raise ValueError(f"bad host {item!r} in {url!r}: expected host:port")
    return unquote(host), port


def _connection_kwargs(scheme: str, userinfo: str, path: str, query: str) -> dict[str, Any]:
    """Credentials, db and query options, parsed the way redis-py parses a single URL."""
    base = "rediss" if scheme.startswith("rediss") else "redis"
    single = f"{base}://{userinfo + '@' if userinfo else ''}localhost{path}"
    if query:
        single += "?" + query
    kwargs: dict[str, Any] = parse_url(single)
    kwargs.pop("host", None)
    kwargs.pop("port", None)
    if kwargs.pop("connection_class", None) is SSLConnection:
        kwargs["ssl"] = True
    return kwargs


def parse_cluster_url(url: str) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """``redis+cluster://...`` -> (startup nodes, client keyword arguments).

    Raises ValueError for another scheme, a bad host list or a db other than 0 (a cluster
    has only db 0). No Redis work."""
    scheme, userinfo, hosts, path, query = _split_hosts(url, CLUSTER_SCHEMES)
    kwargs = _connection_kwargs(scheme, userinfo, path, query)
    db = kwargs.pop("db", 0)
    if db not in (0, "0"):
        raise ValueError(f"Redis Cluster has only db 0, got db {db!r} in {url!r}")
    return hosts, kwargs


def parse_sentinel_url(url: str) -> tuple[list[tuple[str, int]], str, dict[str, Any]]:
    """``redis+sentinel://[password@]host:port[,...]/service_name[/db]`` -> (sentinel
    addresses, service name, connection keyword arguments for the data servers).

    Raises ValueError for another scheme, a bad host list, a missing service name or a
    non-integer db. No Redis work."""
    scheme, userinfo, hosts, path, query = _split_hosts(url, SENTINEL_SCHEMES)
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ValueError(
            f"sentinel URL {url!r} needs a service name: "
            "redis+sentinel://host:port[,host:port]/service_name[/db]"
        )
    service = parts[0]
    db_path = ""
    if len(parts) == 2:
        if not parts[1].isdigit():
            raise ValueError(f"db must be an integer in {url!r}, got {parts[1]!r}")
        db_path = "/" + parts[1]
    if userinfo and ":" not in userinfo:
        userinfo = ":" + userinfo  # "password@" alone is the password, not a user name
    kwargs = _connection_kwargs(scheme, userinfo, db_path, query)
    return hosts, service, kwargs


def parse_memory_url(url: str) -> tuple[str, int, dict[str, Any]]:
    """Split ``memory://name/db?decode_responses=1`` into (name, db, options); ValueError for
    another scheme, a non-integer db or an option the embedded engine does not take. No Redis
    work."""
    parsed = urlsplit(url)
    if parsed.scheme != "memory":
        raise ValueError(f"not a memory:// URL: {url!r}")
    name = parsed.netloc or "default"
    path = parsed.path.strip("/")
    try:
        db = int(path) if path else 0
    except ValueError:
        raise ValueError(
            f"memory:// URL database must be an integer, got {path!r} in {url!r}"
        ) from None
    options: dict[str, Any] = {}
    for key, values in parse_qs(parsed.query).items():
        value = values[-1]
        if key == "decode_responses":
            options[key] = value.lower() in ("1", "true", "yes", "on")
        elif key == "db":
            db = int(value)
        elif key in RETRY_OPTIONS:
            continue  # accepted for one URL across engines; nothing to retry in process
        else:
            raise ValueError(f"unsupported memory:// URL option {key!r} in {url!r}")
    return name, db, options


# -- validation -----------------------------------------------------------------------------


def _seconds_or_none(value: Any) -> bool:
    return value is None or (_number(value) and value > 0)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _path_or_none(value: Any) -> bool:
    return value is None or isinstance(value, (str, os.PathLike))


def _positive_int_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)


def _cert_reqs(value: Any) -> bool:
    if value is None or isinstance(value, ssl.VerifyMode):
        return True
    return isinstance(value, str) and value.lower() in ("none", "optional", "required")


def _retry_rule(name: str) -> Callable[[Any], bool]:
    return lambda value: not retry_option_problems({name: value})


# Option name -> (accepts the value, what was expected). The redis-py connection keyword
# arguments a settings file may set, plus walrus's reconnection options (docs/reliability.md).
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
"""Connection options a settings file may set: each name's validity test and a description of
what it expects (used in error messages)."""

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
        *RETRY_OPTIONS,
        "retry",
    }
)
"""The options the embedded ``memory://`` engine accepts (timeouts and pool sizes mean nothing
there, so they are accepted and ignored)."""


def decodes_responses(options: Mapping[str, Any], url: Any = None) -> bool:
    """Whether ``options`` (or the URL's ``?decode_responses=``) turn response decoding on. No
    Redis work."""
    if options.get("decode_responses") is True:
        return True
    if isinstance(url, str) and "?" in url:
        values = parse_qs(urlsplit(url).query).get("decode_responses", [])
        return any(v.lower() in ("1", "true", "yes", "on", "y") for v in values)
    return False


def option_problems(options: Mapping[str, Any], url: Any = None) -> list[str]:
    """Unknown connection options and values of the wrong type, as messages (empty when all can
    be used; ``decode_responses=True`` is left to ``decodes_responses``). ``url`` narrows the
    allowed names for ``memory://``. No Redis work."""
    problems: list[str] = []
    unknown = sorted(str(name) for name in options if name not in CONNECTION_OPTIONS)
    if unknown:
        problems.append(
            f"unknown options: {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(CONNECTION_OPTIONS))})"
        )
    for name, value in options.items():
        rule = CONNECTION_OPTIONS.get(name)
        if rule is not None and not rule[0](value):
            problems.append(f"{name!r} must be {rule[1]}, got {value!r}")
    if options.get("retry") is not None and any(
        n in options for n in ("retries", "retry_backoff", "retry_backoff_cap")
    ):
        problems.append(
            "give either 'retry' (a Retry object) or retries/retry_backoff/retry_backoff_cap, "
            "not both"
        )
    if isinstance(url, str) and url.lower().startswith("memory://"):
        foreign = sorted(
            str(n) for n in options if n in CONNECTION_OPTIONS and n not in MEMORY_OPTIONS
        )
        if foreign:
            problems.append(f"the embedded memory:// engine does not take {', '.join(foreign)}")
    return problems


def _server_url_problems(url: str, scheme: str) -> list[str]:
    problems: list[str] = []
    parts = urlsplit(url)
    parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    if scheme in ("redis", "rediss"):
        if not parts.hostname:
            problems.append("no host name")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            problems.append(f"the database number must be a non-negative integer, got {db!r}")
    elif not parts.path:
        problems.append("no socket path")
    parse_url(url)  # query arguments (db=, socket_timeout=, ...)
    return problems


def _parse_problems(url: str, scheme: str) -> list[str]:
    if scheme in CLUSTER_SCHEMES:
        parse_cluster_url(url)
    elif scheme in SENTINEL_SCHEMES:
        parse_sentinel_url(url)
    elif scheme == "memory":
        parse_memory_url(url)
    else:
        return _server_url_problems(url, scheme)
    return []


def url_problems(url: Any) -> list[str]:
    """Why ``url`` cannot be used as a walrus URL, as messages (empty if it can). Messages never
    contain the URL's password. No Redis work."""
    if not isinstance(url, str) or url_scheme(url) not in SCHEMES:
        return [f"must be {_EXPECTED}, got {_shown(url)}"]
    problems: list[str] = []
    try:
        problems += _parse_problems(url, url_scheme(url))
        if "?" in url:
            query = {
                k: v[-1] for k, v in parse_qs(urlsplit(url).query).items() if k in RETRY_OPTIONS
            }
            problems += (f"URL query: {p}" for p in retry_option_problems(query, from_url=True))
    except ValueError as exc:
        problems.append(str(exc).replace(url, redact_url(url)))
    return problems


def check_url(url: Any, what: str = "url") -> str:
    """``url`` itself when it can be used; else TypeError (not a str) or ValueError naming
    ``what`` (the setting it came from) and every problem, the password hidden. No Redis work."""
    if not isinstance(url, str):
        raise TypeError(f"{what} must be {_EXPECTED}, got {type(url).__name__} {url!r}")
    problems = url_problems(url)
    if problems and problems[0].startswith("must be"):  # not a walrus URL at all
        raise ValueError(f"{what} {problems[0]}")
    if problems:
        raise ValueError(f"{what} {redact_url(url)!r}: {'; '.join(problems)}")
    return url
