"""The ``memory://`` engine: an in-process Redis (fakeredis, Lua through lupa).

For demos, development and tests. ``memory://NAME/DB`` gives every client that names the
same ``NAME`` in this process the same data, so a Django cache backend and the models of one
site share state as they would on a real server. Not for production: data lives and dies
with the process.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
import redis.asyncio

from .exceptions import EmbeddedEngineUnavailable
from .urls import MEMORY_OPTIONS, parse_memory_url

__all__ = [
    "async_memory_connection_pool",
    "memory_connection_pool",
    "parse_memory_url",
    "reset_memory_server",
]

_servers: dict[str, Any] = {}
_servers_lock = threading.Lock()
# Redis version the embedded engine reports and emulates.
EMBEDDED_VERSION = "7.4"


_NEEDS_ENGINE = (
    "memory:// needs the embedded engine: pip install fakeredis lupa "
    "(or pip install '.[embedded]' in a checkout of the walrus suite)"
)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _get_server(name: str) -> Any:
    try:
        import fakeredis
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedEngineUnavailable(_NEEDS_ENGINE) from exc
    with _servers_lock:
        server = _servers.get(name)
        if server is None:
            server = fakeredis.FakeServer(version=_version_tuple(EMBEDDED_VERSION))
            _servers[name] = server
        return server


def reset_memory_server(name: str = "default") -> None:
    """Forget the named in-process server (its data is dropped with it).
    No Redis work: in process."""
    with _servers_lock:
        _servers.pop(name, None)


def memory_connection_pool(url: str, **kwargs: Any) -> redis.ConnectionPool:
    """A redis-py connection pool whose connections talk to the named in-process server.
    No Redis work: nothing connects until a command runs (in process)."""
    try:
        from .embedded_commands import WalrusFakeConnection
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedEngineUnavailable(_NEEDS_ENGINE) from exc
    max_connections, conn_kwargs = _pool_kwargs(url, kwargs, redis.Redis)
    return redis.ConnectionPool(
        connection_class=WalrusFakeConnection, max_connections=max_connections, **conn_kwargs
    )


def async_memory_connection_pool(url: str, **kwargs: Any) -> redis.asyncio.ConnectionPool:
    """An asyncio connection pool on the named in-process server: the same data the sync
    clients of that name see. No Redis work: nothing connects until a command runs."""
    try:
        from .embedded_commands import WalrusFakeAsyncConnection
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedEngineUnavailable(_NEEDS_ENGINE) from exc
    max_connections, conn_kwargs = _pool_kwargs(url, kwargs, redis.asyncio.Redis)
    return redis.asyncio.ConnectionPool(
        connection_class=WalrusFakeAsyncConnection, max_connections=max_connections, **conn_kwargs
    )


def _pool_kwargs(
    url: str, kwargs: dict[str, Any], client_class: type
) -> tuple[Any, dict[str, Any]]:
    """(max_connections, connection keyword arguments) of a ``memory://`` pool."""
    name, db, options = parse_memory_url(url)
    options.update(kwargs)
    conn_kwargs: dict[str, Any] = {
        "server": _get_server(name),
        "db": db,
        "version": EMBEDDED_VERSION,
        "server_type": "redis",
        "lua_modules": None,
        "client_class": client_class,
        "decode_responses": bool(options.pop("decode_responses", False)),
    }
    for key in ("encoding", "encoding_errors", "protocol", "client_name"):
        if key in options:
            conn_kwargs[key] = options.pop(key)
    # Timeouts and pool sizes are meaningless in process; accept and ignore them so one
    # settings dict works for memory:// and redis:// alike. Retry options too: an in-process
    # engine never drops a connection.
    for key in MEMORY_OPTIONS - {"max_connections"}:
        options.pop(key, None)
    max_connections = options.pop("max_connections", None)
    if options:
        raise ValueError(f"unsupported options for memory://: {sorted(options)}")
    return max_connections, conn_kwargs
