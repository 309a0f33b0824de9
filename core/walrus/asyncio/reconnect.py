"""Safe reconnection on asyncio: the ``redis.asyncio`` glue of ``walrus.retry``.

What is resent after a dropped connection, the options and their validation, the backoff and
the errors raised are ``walrus.retry``'s (docs/reliability.md); this module only wraps the
awaiting parts of redis-py's asyncio connection and retry classes around them:

- ``async_connection_class_for(base)``: the outcome-tracking subclass of a
  ``redis.asyncio`` connection class (``Connection``, ``SSLConnection``,
  ``UnixDomainSocketConnection``, Sentinel's ``SentinelManagedConnection``);
- ``AsyncWalrusRetry``: ``redis.asyncio.retry.Retry`` with walrus's resend decisions;
- ``pop_async_retry_options(options)``: the options of ``AsyncDatabase`` (and of an asyncio
  cluster client) as ``redis.asyncio`` connection keyword arguments;
- ``track_cluster_connections(cluster)``: the same connections for a
  ``redis.asyncio.cluster.RedisCluster`` (whose constructor takes no connection class).

Lost write replies are counted per asyncio task (a ``contextvars`` variable), so concurrent
tasks on one client never see each other's resends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..packing import fast_packer
from ..retry import (
    REDIS_MAJOR,
    RETRY_ON_ERROR,
    RetryAttempts,
    SendTracking,
    connection_class_for,
    resend_mark,
    retry_settings,
)

__all__ = [
    "AsyncWalrusRetry",
    "async_connection_class_for",
    "install_async",
    "pop_async_retry_options",
    "track_cluster_connections",
]


class _AsyncOutcomeTracking(SendTracking):
    """Mixin for ``redis.asyncio`` connection classes (see ``walrus.retry.SendTracking``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # redis.asyncio builds its packer inline (no _construct_command_packer to override)
        packer = getattr(self, "_command_packer", None)
        if packer is not None and kwargs.get("command_packer") is None:
            self._command_packer = fast_packer(packer, getattr(self, "encoder", None))

    async def send_command(self, *args: Any, **kwargs: Any) -> None:
        self._walrus_next = (args,)
        await super().send_command(*args, **kwargs)  # type: ignore[misc]  # mixin: base has it

    def pack_command(self, *args: Any) -> Any:
        # redis.asyncio's cluster client packs one command itself, then sends the bytes.
        self._walrus_next = (args,)
        return super().pack_command(*args)  # type: ignore[misc]  # mixin: base has it

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        batch = self._walrus_sending()
        try:
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError) as exc:
            unknown = self._walrus_send_failed(batch, exc)
            if unknown is None:
                raise
            try:
                raise unknown from exc
            finally:
                del unknown  # else frame<->traceback cycle: client kept until GC
        self._walrus_sent = batch

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)  # type: ignore[misc]  # mixin
        except (RedisConnectionError, RedisTimeoutError) as exc:
            unknown = self._walrus_read_failed(exc, kwargs)
            if unknown is None:
                raise
            try:
                raise unknown from exc
            finally:
                del unknown  # else frame<->traceback cycle: client kept until GC

    if REDIS_MAJOR < 6:  # pragma: no cover - exercised on the redis-py 5.x floor

        async def connect(self) -> None:
            # redis-py 5 retries opening the socket but not the handshake after it.
            connection: Any = self  # the redis-py connection this class is mixed into
            if connection.is_connected:
                return
            base_connect = super().connect  # type: ignore[misc]  # mixin: the base has it
            await connection.retry.call_with_retry(base_connect, lambda _: connection.disconnect())

    else:

        async def connect(self) -> None:
            # redis-py 6+ runs its retry wrapper on every connect(), connected or not, and the
            # pool calls connect() for each command: with the socket up there is nothing to do
            # (redis-py's own check, made before the wrapper instead of inside it).
            if self.is_connected:  # type: ignore[attr-defined]  # mixin: the base has it
                return
            await super().connect()  # type: ignore[misc]  # mixin: the base has it


def async_connection_class_for(base: type) -> type:
    """The outcome-tracking subclass of a ``redis.asyncio`` connection class (made once per
    class): a lost reply of a command that is not safe to resend raises
    ``OutcomeUnknownError``. No Redis work."""
    return connection_class_for(base, _AsyncOutcomeTracking)


class AsyncWalrusRetry(AsyncRetry):
    """``redis.asyncio.retry.Retry`` that resends what ``walrus.WalrusRetry`` resends: never
    after ``OutcomeUnknownError``, and a resent write whose resends all fail raises
    ``OutcomeUnknownError`` (its first attempt may have been applied)."""

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[Any]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> Any:
        """Await ``do``, again after a connection failure when that is safe (redis-py closes
        the failed connection in ``fail``). Cost: the round trips of ``do`` per attempt, at
        most ``retries`` + 1 attempts, with a backoff sleep between two."""
        mark = resend_mark()
        attempts: RetryAttempts | None = None  # made at the first failure: none on success
        while True:
            try:
                return await do()
            except Exception as error:  # attempts.failed re-raises what is not resent
                if attempts is None:
                    attempts = RetryAttempts(self, mark, is_retryable, with_failure_count)
                await fail(*attempts.failed(error))
                pause = attempts.delay(error)
                if pause > 0:
                    await asyncio.sleep(pause)


def pop_async_retry_options(options: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Take walrus's reconnection options out of ``options`` (in place) and return the
    ``redis.asyncio`` connection keyword arguments they stand for (``retry``: an
    ``AsyncWalrusRetry``; ``retry_on_error``), plus whether request ids are on.

    The options, defaults and ValueErrors are the sync ``pop_retry_options``'s:
    ``retries``, ``retry_backoff``, ``retry_backoff_cap``, ``request_ids``, or redis-py's
    ``retry`` (a ``redis.asyncio.retry.Retry`` or ``redis.retry.Retry``: its backoff and
    count are kept). No Redis work."""
    settings = retry_settings(options, (AsyncRetry, Retry))
    retry = settings.build(AsyncWalrusRetry, RETRY_ON_ERROR)
    return {"retry": retry, "retry_on_error": list(RETRY_ON_ERROR)}, settings.request_ids


def install_async(pool: redis.asyncio.ConnectionPool) -> None:
    """Make ``pool`` build outcome-tracking connections (before it made any). No Redis
    work."""
    pool.connection_class = async_connection_class_for(pool.connection_class)


def track_cluster_connections(cluster: Any) -> None:
    """Make a ``redis.asyncio.cluster.RedisCluster``, just built (before its first command),
    open outcome-tracking node connections: its shared connection options and the startup
    nodes it already made. Nodes found later are built from those options. No Redis work."""
    options = cluster.connection_kwargs  # the dict its NodesManager builds nodes from
    base = options.get("connection_class", redis.asyncio.Connection)
    options["connection_class"] = async_connection_class_for(base)
    manager = cluster.nodes_manager
    for node in (
        *cluster.startup_nodes,
        *manager.startup_nodes.values(),
        *manager.nodes_cache.values(),
    ):
        node.connection_class = async_connection_class_for(node.connection_class)
