"""Count client-to-server round trips, for benchmarks and tests of call costs.

A round trip is one write of a command batch to a socket: a single command, a whole pipeline
or MULTI/EXEC block, and each reply wait of a blocking call. Counting happens on redis-py's
connection classes, sync and asyncio, so it covers real servers and the ``memory://`` engine
alike.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from redis.asyncio.connection import AbstractConnection as AsyncConnection
from redis.connection import AbstractConnection

__all__ = ["RoundTripCounter", "count_write"]

_lock = threading.Lock()
_active: list[RoundTripCounter] = []
# Patched by name, like the handshake below: redis-py leaves send_packed_command
# unannotated, and this is the signature it has.
_SEND = "send_packed_command"
_original_send: Callable[[AbstractConnection, Any, bool], None] = getattr(AbstractConnection, _SEND)
# The connection handshake (HELLO, CLIENT SETINFO, SELECT) is paid once per pooled
# connection, not per operation, so it is not counted. redis-py 5.x runs it in on_connect;
# newer releases moved it into on_connect_check_health, which on_connect calls.
_HANDSHAKE = (
    "on_connect_check_health"
    if hasattr(AbstractConnection, "on_connect_check_health")
    else "on_connect"
)
_original_on_connect = getattr(AbstractConnection, _HANDSHAKE)
_handshake = threading.local()
# asyncio connections: the same write, a coroutine (its handshake runs while connecting,
# counted apart by the flag below, set for the task that connects).
_original_asend: Callable[..., Any] = getattr(AsyncConnection, _SEND)
_ASYNC_HANDSHAKE = (
    "on_connect_check_health"
    if hasattr(AsyncConnection, "on_connect_check_health")
    else "on_connect"
)
_original_aon_connect: Callable[..., Any] = getattr(AsyncConnection, _ASYNC_HANDSHAKE)
_async_handshake: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "walrus_handshake", default=False
)


def count_write() -> None:
    """Count one socket write made without ``send_packed_command`` (a batch of reads that
    ``walrus.asyncio.batching`` writes itself) in every active counter. No Redis work."""
    if _active:
        for counter in list(_active):
            counter.count += 1


def _counting_send(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
    if not getattr(_handshake, "active", False):
        for counter in list(_active):
            counter.count += 1
    _original_send(self, command, check_health)


def _quiet_on_connect(self: AbstractConnection, *args: Any, **kwargs: Any) -> Any:
    _handshake.active = True
    try:
        return _original_on_connect(self, *args, **kwargs)
    finally:
        _handshake.active = False


async def _counting_asend(self: AsyncConnection, command: Any, check_health: bool = True) -> None:
    if not _async_handshake.get():
        for counter in list(_active):
            counter.count += 1
    await _original_asend(self, command, check_health)


async def _quiet_aon_connect(self: AsyncConnection, *args: Any, **kwargs: Any) -> Any:
    token = _async_handshake.set(True)
    try:
        return await _original_aon_connect(self, *args, **kwargs)
    finally:
        _async_handshake.reset(token)


_PATCHES = (
    (AbstractConnection, _SEND, _counting_send, _original_send),
    (AbstractConnection, _HANDSHAKE, _quiet_on_connect, _original_on_connect),
    (AsyncConnection, _SEND, _counting_asend, _original_asend),
    (AsyncConnection, _ASYNC_HANDSHAKE, _quiet_aon_connect, _original_aon_connect),
)


class RoundTripCounter:
    """Context manager counting round trips made by any redis-py connection while active.

    >>> with RoundTripCounter() as rt:
    ...     db.get("k")
    >>> rt.count
    1
    """

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> RoundTripCounter:
        with _lock:
            if not _active:
                for owner, name, counting, _original in _PATCHES:
                    setattr(owner, name, counting)
            _active.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with _lock:
            _active.remove(self)
            if not _active:
                for owner, name, _counting, original in _PATCHES:
                    setattr(owner, name, original)

    def reset(self) -> None:
        """Start counting from zero again. No Redis work."""
        self.count = 0
