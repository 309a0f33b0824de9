"""``AsyncDatabase``: a ``redis.asyncio.Redis`` that runs walrus's Lua scripts.

It shares everything but the sending with the sync ``Database``: URLs are read by
``walrus.urls``, scripts are registered and planned by ``walrus.script_host`` (the same
EVALSHA-then-EVAL commands, request ids included), reconnection follows ``walrus.retry``
(through ``walrus.asyncio.reconnect``: the same options, defaults and resend decisions), and
the embedded ``memory://`` engine is the same in-process server, so a sync and an async
client of one ``memory://`` name see the same data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis.asyncio

from ..containers.factories import AsyncContainerFactories
from ..script_host import ScriptHost
from ..urls import (
    CLUSTER_SCHEMES,
    SENTINEL_SCHEMES,
    SERVER_SCHEMES,
    parse_sentinel_url,
    unsupported_scheme,
    url_retry_options,
    url_scheme,
)
from .batching import CommandBatcher, check_read
from .client import AsyncClientExtras
from .reconnect import install_async, pop_async_retry_options

__all__ = ["AsyncDatabase"]


class AsyncDatabase(  # type: ignore[misc]  # see below
    AsyncClientExtras, AsyncContainerFactories, ScriptHost, redis.asyncio.Redis
):
    """An asyncio Redis client with walrus's scripts (``redis.asyncio.Redis``'s arguments plus
    ``script_dir``: a folder whose ``<name>.lua`` files ``run_script`` prefers). Creating it
    does not connect; the first command does. Close it with ``await db.aclose()``.

    Reconnection is the sync ``Database``'s (docs/reliability.md): ``retries`` (default 3),
    ``retry_backoff``, ``retry_backoff_cap`` (seconds), ``request_ids`` (False) or redis-py's
    ``retry``; a command is resent on a fresh connection only when that is safe, otherwise
    ``walrus.OutcomeUnknownError``.

    ``batch_reads`` (default True): ``execute_read`` and ``run_script`` send the reads and
    scripts of concurrent tasks on one connection, one socket write per loop turn
    (``walrus.asyncio.batching``); False sends each on a pooled connection, as
    ``execute_command``.

    ``cache``, ``lock``, ``atomic`` and ``run_script`` come from ``AsyncClientExtras``
    (shared with ``AsyncClusterDatabase``); the container factories are typed with the
    awaitable protocols of ``walrus.asyncio.protocols``.

    (mypy: redis-py types ``register_script`` of its sync and async mixins differently, and
    ScriptHost uses only what both return: ``sha`` and ``script``; ``lock`` is walrus's.)"""

    def __init__(
        self,
        *args: Any,
        script_dir: str | Path | None = None,
        batch_reads: bool = True,
        **kwargs: Any,
    ) -> None:
        self.batch_reads = _checked_batch_reads(batch_reads)
        self._batcher: CommandBatcher | None = None
        if kwargs.get("connection_pool") is None:
            # A pool of our own (host=..., unix_socket_path=...): walrus's resend policy, as
            # from_url's; redis.asyncio's default Retry would resend an INCR as well.
            retry_kwargs, request_ids = pop_async_retry_options(kwargs)
            super().__init__(*args, **kwargs, **retry_kwargs)
            install_async(self.connection_pool)
        else:
            request_ids = bool(kwargs.pop("request_ids", False))
            super().__init__(*args, **kwargs)
        self._init_scripts(script_dir, request_ids)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AsyncDatabase:  # type: ignore[override]
        """A client from any URL the sync ``Database.from_url`` takes: ``redis://``,
        ``rediss://``, ``unix://``, ``memory://NAME/DB`` (the embedded engine, shared with
        sync clients of that name), ``redis+sentinel://`` and ``redis+cluster://`` (an
        ``AsyncClusterDatabase``).

        Reconnection options as ``Database.from_url``'s, as keyword arguments or in the URL's
        query string (``redis://host/0?retries=5&request_ids=true``): ``retries``,
        ``retry_backoff``, ``retry_backoff_cap``, ``request_ids``, or redis-py's ``retry``.
        ``memory://`` accepts and ignores them, as the sync client does. Other keyword
        arguments go to the connections. ValueError for a malformed URL, an unknown scheme
        or a bad option value (naming it). No Redis work: nothing connects until a command
        runs."""
        script_dir = kwargs.pop("script_dir", None)
        batch_reads = _checked_batch_reads(kwargs.pop("batch_reads", True))
        scheme = url_scheme(url)
        if scheme in CLUSTER_SCHEMES:
            from .cluster import AsyncClusterDatabase

            return AsyncClusterDatabase.from_url(url, script_dir=script_dir, **kwargs)  # type: ignore[return-value]
        if scheme == "memory":
            from ..embedded import async_memory_connection_pool

            pool = async_memory_connection_pool(url, **kwargs)
            return cls._owning(pool, script_dir, batch_reads=batch_reads)
        if scheme not in (*SERVER_SCHEMES, *SENTINEL_SCHEMES):
            raise unsupported_scheme(url, (*SERVER_SCHEMES, "memory", *SENTINEL_SCHEMES))
        url, kwargs = url_retry_options(url, kwargs)
        retry_kwargs, request_ids = pop_async_retry_options(kwargs)
        if scheme in SENTINEL_SCHEMES:
            pool = cls._sentinel_pool(url, kwargs, retry_kwargs)
        else:
            pool = redis.asyncio.ConnectionPool.from_url(url, **kwargs, **retry_kwargs)
        install_async(pool)
        return cls._owning(pool, script_dir, request_ids, batch_reads)

    @classmethod
    def _owning(
        cls, pool: Any, script_dir: Any, request_ids: bool = False, batch_reads: bool = True
    ) -> AsyncDatabase:
        """A client that closes ``pool`` with itself (``aclose()``), as redis-py's from_url."""
        database = cls(
            connection_pool=pool,
            script_dir=script_dir,
            request_ids=request_ids,
            batch_reads=batch_reads,
        )
        database.auto_close_connection_pool = True
        return database

    @staticmethod
    def _sentinel_pool(url: str, kwargs: dict[str, Any], retry_kwargs: dict[str, Any]) -> Any:
        """The pool ``Sentinel.master_for`` builds, from a ``redis+sentinel://`` URL; the
        walrus retry drives the primary's connections (the sentinels' own use
        ``sentinel_kwargs``)."""
        from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

        sentinels, service, connection_kwargs = parse_sentinel_url(url)
        sentinel_kwargs = kwargs.pop("sentinel_kwargs", None)
        sentinel = Sentinel(
            sentinels, sentinel_kwargs=sentinel_kwargs, **{**connection_kwargs, **kwargs}
        )
        options = {**sentinel.connection_kwargs, **retry_kwargs, "is_master": True}
        return SentinelConnectionPool(service, sentinel, **options)

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close the client's connections, as redis-py's ``aclose`` (the pool too when the
        client owns it, as ``from_url``'s do). A client from a ``redis+sentinel://`` URL also
        closes its connections to the sentinels, which redis-py leaves open. No Redis
        command."""
        if self._batcher is not None:
            await self._batcher.aclose()
        await super().aclose(close_connection_pool)
        if close_connection_pool is None:
            close_connection_pool = self.auto_close_connection_pool
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        if close_connection_pool and manager is not None:
            for sentinel in manager.sentinels:
                await sentinel.aclose()

    async def execute_read(self, *command: Any) -> Any:
        """Run a read (``command[0]`` one of ``walrus.asyncio.batching.BATCHED_READS``: GET,
        MGET, EXISTS, ...) and return its reply, as ``execute_command`` would. With
        ``batch_reads`` on a server (not ``memory://``, Sentinel or a single-connection
        client), the read shares one socket write with the commands other tasks of this
        loop issue in the same loop turn; after a lost connection it is resent under the
        client's retry policy. At most 1 round trip. ValueError for a command that is not
        such a read (nothing sent)."""
        check_read(command)
        return await self._execute_batched(command)

    async def _execute_batched(self, command: tuple[Any, ...]) -> Any:
        """``command`` (a checked read, or a script of ``run_script``) on the batch
        connection when batching applies, else as ``execute_command``. 1 round trip at
        most."""
        batcher = self._batcher
        if batcher is None:
            if not self._batching_applies():
                return await self.execute_command(*command)
            batcher = self._batcher = CommandBatcher(self.connection_pool)
        retry = self.connection_pool.connection_kwargs.get("retry")
        if retry is None:
            return await batcher.call(command)
        return await retry.call_with_retry(lambda: batcher.call(command), _dropped_already)

    def _batching_applies(self) -> bool:
        if not self.batch_reads or self.is_embedded or self.connection is not None:
            return False
        if getattr(self.connection_pool, "sentinel_manager", None) is not None:
            return False  # after a failover the batch's connection could stay on a replica
        return True

    @property
    def is_embedded(self) -> bool:
        """True when this client runs on the in-process ``memory://`` engine."""
        return "server" in self.connection_pool.connection_kwargs


async def _dropped_already(*_failure: Any) -> None:
    """The retry's ``fail`` for a batched command: the batcher has dropped the connection."""


def _checked_batch_reads(value: Any) -> bool:
    """``batch_reads`` itself; ValueError unless it is True or False (a cluster client takes
    and ignores it, but not a wrong type). No Redis work."""
    if not isinstance(value, bool):
        raise ValueError(f"batch_reads must be True or False, not {value!r}")
    return value
