"""``AsyncDatabase``: a ``redis.asyncio.Redis`` that runs walrus's Lua scripts.

It shares everything but the sending with the sync ``Database``: URLs are read by
``walrus.urls``, scripts are registered and planned by ``walrus.script_host`` (the same
EVALSHA-then-EVAL commands, request ids included), and the embedded ``memory://`` engine is
the same in-process server, so a sync and an async client of one ``memory://`` name see the
same data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from ..containers.factories import ContainerFactories
from ..script_host import ScriptHost

if TYPE_CHECKING:  # pragma: no cover
    from .cache import AsyncCache
    from .lock import AsyncLock
from ..urls import (
    CLUSTER_SCHEMES,
    SENTINEL_SCHEMES,
    SERVER_SCHEMES,
    parse_sentinel_url,
    unsupported_scheme,
    url_retry_options,
    url_scheme,
)

__all__ = ["AsyncDatabase"]

# walrus's own reconnection options (docs/reliability.md) are not ported to asyncio yet: an
# async client does not resend a command after a dropped connection (redis-py's default would
# resend any command, INCR included), it raises ConnectionError and reconnects on next use.
_UNPORTED = ("retries", "retry_backoff", "retry_backoff_cap", "request_ids")


class AsyncDatabase(ContainerFactories, ScriptHost, redis.asyncio.Redis):  # type: ignore[misc]  # see below
    """An asyncio Redis client with walrus's scripts (``redis.asyncio.Redis``'s arguments plus
    ``script_dir``: a folder whose ``<name>.lua`` files ``run_script`` prefers). Creating it
    does not connect; the first command does. Close it with ``await db.aclose()``.

    (mypy: redis-py types ``register_script`` of its sync and async mixins differently, and
    ScriptHost uses only what both return: ``sha`` and ``script``.)"""

    def __init__(self, *args: Any, script_dir: str | Path | None = None, **kwargs: Any) -> None:
        if kwargs.get("connection_pool") is None:
            kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(*args, **kwargs)
        self._init_scripts(script_dir)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AsyncDatabase:  # type: ignore[override]
        """A client from any URL the sync ``Database.from_url`` takes but a cluster's:
        ``redis://``, ``rediss://``, ``unix://``, ``memory://NAME/DB`` (the embedded engine,
        shared with sync clients of that name) and ``redis+sentinel://``. Other keyword
        arguments go to the connections. ValueError for a malformed URL or an unknown scheme.
        No Redis work: nothing connects until a command runs."""
        script_dir = kwargs.pop("script_dir", None)
        scheme = url_scheme(url)
        if scheme in CLUSTER_SCHEMES:
            from .cluster import AsyncClusterDatabase

            return AsyncClusterDatabase.from_url(url, script_dir=script_dir, **kwargs)  # type: ignore[return-value]
        url, kwargs = url_retry_options(url, kwargs)
        unported = sorted(name for name in _UNPORTED if name in kwargs)
        if unported:
            raise ValueError(
                f"AsyncDatabase does not take {', '.join(unported)} yet (reconnection options "
                "are sync-only); pass redis-py's retry= if you want resends"
            )
        if scheme == "memory":
            from ..embedded import async_memory_connection_pool

            pool = async_memory_connection_pool(url, **kwargs)
            return cls._owning(pool, script_dir)
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        if scheme in SENTINEL_SCHEMES:
            return cls._from_sentinel_url(url, script_dir, kwargs)
        if scheme not in SERVER_SCHEMES:
            raise unsupported_scheme(url, (*SERVER_SCHEMES, "memory", *SENTINEL_SCHEMES))
        return cls._owning(redis.asyncio.ConnectionPool.from_url(url, **kwargs), script_dir)

    @classmethod
    def _owning(cls, pool: Any, script_dir: Any) -> AsyncDatabase:
        """A client that closes ``pool`` with itself (``aclose()``), as redis-py's from_url."""
        database = cls(connection_pool=pool, script_dir=script_dir)
        database.auto_close_connection_pool = True
        return database

    @classmethod
    def _from_sentinel_url(cls, url: str, script_dir: Any, kwargs: dict[str, Any]) -> AsyncDatabase:
        from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

        sentinels, service, connection_kwargs = parse_sentinel_url(url)
        sentinel_kwargs = kwargs.pop("sentinel_kwargs", None)
        connection_kwargs.update(kwargs)
        sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs, **connection_kwargs)
        pool = SentinelConnectionPool(
            service, sentinel, **{**sentinel.connection_kwargs, "is_master": True}
        )
        return cls._owning(pool, script_dir)

    @property
    def is_embedded(self) -> bool:
        """True when this client runs on the in-process ``memory://`` engine."""
        return "server" in self.connection_pool.connection_kwargs

    def cache(
        self, name: str = "cache", default_timeout: float | None = 3600, **options: Any
    ) -> AsyncCache:
        """An ``AsyncCache`` named ``name`` (``db.cache``'s options and default timeout, in
        seconds). No Redis work."""
        from .cache import AsyncCache

        return AsyncCache(self, name, default_timeout=default_timeout, **options)

    def lock(  # type: ignore[override]  # walrus's lock, as on the sync Database
        self, name: str | bytes, ttl: int | None = None, lock_id: str | bytes | None = None
    ) -> AsyncLock:
        """walrus's ``AsyncLock`` named ``name`` (``ttl`` in ms; None: no expiry), not
        redis-py's. No Redis work: ``async with`` / ``await acquire()`` take it."""
        from .lock import AsyncLock

        return AsyncLock(self, name, ttl, lock_id)

    async def run_script(
        self,
        script_name: str,
        keys: list[Any] | tuple[Any, ...] | None = None,
        args: list[Any] | tuple[Any, ...] | None = None,
    ) -> Any:
        """Run the named Lua script: 1 round trip (the source on this client's first run of
        it, or again if the server forgot it; its SHA otherwise), as ``Database.run_script``."""
        call = self._prepare_script(script_name, keys, args)
        send: Any = self.execute_command  # unannotated in redis-py
        if call.loaded:
            try:
                return await send(*call.evalsha_command)
            except NoScriptError:
                self._loaded_scripts.discard(call.marker)
        result = await send(*call.eval_command)
        self._loaded_scripts.add(call.marker)
        return result
