"""The ``memory://`` engine: an in-process Redis (fakeredis, Lua through lupa).

For demos, development and tests. ``memory://NAME/DB`` gives every client that names the
same ``NAME`` in this process the same data, so a Django cache backend and the models of one
site share state as they would on a real server. Not for production: data lives and dies
with the process.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlparse

import redis

from .exceptions import EmbeddedEngineUnavailable

__all__ = ["memory_connection_pool", "parse_memory_url", "reset_memory_server"]

_servers: dict[str, Any] = {}
_servers_lock = threading.Lock()
# Redis version the embedded engine reports and emulates.
EMBEDDED_VERSION = "7.4"


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def parse_memory_url(url: str) -> tuple[str, int, dict[str, Any]]:
    """Split ``memory://name/db?decode_responses=1`` into (name, db, options)."""
    parsed = urlparse(url)
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
        elif key in ("retries", "retry_backoff", "retry_backoff_cap", "request_ids"):
            continue  # accepted for one URL across engines; nothing to retry in process
        else:
            raise ValueError(f"unsupported memory:// URL option {key!r} in {url!r}")
    return name, db, options


def _get_server(name: str) -> Any:
    try:
        import fakeredis
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedEngineUnavailable(
            "memory:// needs the embedded engine: pip install fakeredis lupa (or pip install '.[embedded]' in a checkout of the walrus suite)"
        ) from exc
    with _servers_lock:
        server = _servers.get(name)
        if server is None:
            server = fakeredis.FakeServer(version=_version_tuple(EMBEDDED_VERSION))
            _servers[name] = server
        return server


def reset_memory_server(name: str = "default") -> None:
    """Forget the named in-process server (its data is dropped with it)."""
    with _servers_lock:
        _servers.pop(name, None)


def memory_connection_pool(url: str, **kwargs: Any) -> redis.ConnectionPool:
    """A redis-py connection pool whose connections talk to the named in-process server."""
    try:
        from .embedded_commands import WalrusFakeConnection
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedEngineUnavailable(
            "memory:// needs the embedded engine: pip install fakeredis lupa (or pip install '.[embedded]' in a checkout of the walrus suite)"
        ) from exc
    name, db, options = parse_memory_url(url)
    options.update(kwargs)
    server = _get_server(name)
    conn_kwargs: dict[str, Any] = {
        "server": server,
        "db": db,
        "version": EMBEDDED_VERSION,
        "server_type": "redis",
        "lua_modules": None,
        "client_class": redis.Redis,
        "decode_responses": bool(options.pop("decode_responses", False)),
    }
    for key in ("encoding", "encoding_errors", "protocol", "client_name"):
        if key in options:
            conn_kwargs[key] = options.pop(key)
    # Timeouts and pool sizes are meaningless in process; accept and ignore them so one
    # settings dict works for memory:// and redis:// alike.
    # Retry options too: an in-process engine never drops a connection.
    for key in (
        "socket_timeout",
        "socket_connect_timeout",
        "retry_on_timeout",
        "health_check_interval",
        "retry",
        "retries",
        "retry_backoff",
        "retry_backoff_cap",
        "request_ids",
    ):
        options.pop(key, None)
    max_connections = options.pop("max_connections", None)
    if options:
        raise ValueError(f"unsupported options for memory://: {sorted(options)}")
    return redis.ConnectionPool(
        connection_class=WalrusFakeConnection, max_connections=max_connections, **conn_kwargs
    )
