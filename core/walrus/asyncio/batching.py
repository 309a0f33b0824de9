"""Read batching on asyncio: the reads many tasks of one event loop issue at once go out in one
socket write (auto-pipelining).

``AsyncDatabase.execute_command`` takes a pooled connection per command and waits for its
reply on it: with 50 tasks reading the cache at once that is 50 connections, 50 writes and 50
reply reads, each with redis-py's per-command bookkeeping. ``ReadBatcher`` keeps one
connection of its own instead: every read queued during one turn of the loop is packed into a
single write, and one reader hands the replies out in order (Redis answers the commands of a
connection in the order it received them). Each read still costs at most one round trip (a
socket write), shared with the reads batched beside it.

Only reads go this way (``BATCHED_READS``): if the connection fails, every read waiting on it
fails with that error, the connection is dropped, and the client's retry policy sends each
read again on a new one, which is always safe for a read.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from .. import roundtrips

__all__ = ["BATCHED_READS", "ReadBatcher", "check_read"]

BATCHED_READS = frozenset(
    {
        "EXISTS",
        "GET",
        "GETRANGE",
        "HGET",
        "HLEN",
        "HMGET",
        "HSTRLEN",
        "LINDEX",
        "LLEN",
        "MGET",
        "PTTL",
        "SCARD",
        "SISMEMBER",
        "STRLEN",
        "TTL",
        "ZCARD",
    }
)
"""The commands ``ReadBatcher`` sends: reads that block nothing, change nothing and whose
reply redis-py returns as it comes (no reply callback)."""


def check_read(command: tuple[Any, ...]) -> None:
    """ValueError unless ``command`` is one of ``BATCHED_READS`` (any case). No Redis work."""
    if not command or not isinstance(command[0], (str, bytes)):
        raise ValueError(f"a batched read needs a command name, not {command!r}")
    name = command[0].decode() if isinstance(command[0], bytes) else command[0]
    if name.upper() not in BATCHED_READS:
        raise ValueError(
            f"{name!r} is not a batched read (one of {', '.join(sorted(BATCHED_READS))})"
        )


class _Link:
    """One connection of the batcher with its queued writes and its waiting reads, in order.
    A link that fails is dropped whole: nothing of it is reused."""

    __slots__ = ("connection", "flush_scheduled", "outgoing", "reader", "waiting")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.outgoing: list[bytes] = []
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.flush_scheduled = False
        self.reader: asyncio.Task[None] | None = None


class ReadBatcher:
    """Sends the reads of one event loop on one connection of ``pool``'s kind, batched per
    loop turn. ``call(command)`` awaits one read's reply. Bound to the loop of its first
    call, as the pool is. The connection is opened on first use (its handshake: HELLO, AUTH,
    SELECT as the pool's connections) and again after a failure."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._link: _Link | None = None
        self._opening: asyncio.Task[_Link] | None = None

    async def call(self, command: tuple[Any, ...]) -> Any:
        """The reply of one read (``check_read(command)`` passed), sent with the other reads
        queued in this loop turn: at most 1 round trip. A reply error is raised as redis-py
        raises it; a connection error fails this read (and every read waiting on the same
        connection) without resending it."""
        link = self._link
        if link is None or _closing(link.connection):
            link = await self._open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        link.outgoing.extend(link.connection.pack_command(*command))
        link.waiting.append(future)
        if not link.flush_scheduled:
            link.flush_scheduled = True
            loop.call_soon(self._flush, link)
        if link.reader is None:
            link.reader = loop.create_task(self._read_replies(link))
        return await future

    async def _open(self) -> _Link:
        # Every task arriving while the connection opens waits for the same opening, so they
        # all resume in one loop turn and their reads share the first write.
        opening = self._opening
        if opening is None:
            opening = self._opening = asyncio.get_running_loop().create_task(self._connect())
        return await asyncio.shield(opening)

    async def _connect(self) -> _Link:
        try:
            link = self._link
            if link is not None:
                await self._drop(link, RedisConnectionError("Connection closed by the server"))
            connection = self._pool.make_connection()
            await connection.connect()
            self._link = link = _Link(connection)
            return link
        finally:
            self._opening = None

    def _flush(self, link: _Link) -> None:
        """Write every command queued on ``link`` since the last flush: one socket write."""
        link.flush_scheduled = False
        if not link.outgoing or link is not self._link:
            return
        outgoing, link.outgoing = link.outgoing, []
        writer = getattr(link.connection, "_writer", None)
        if writer is None or writer.transport.is_closing():
            # the reader fails the waiting reads when its read finds the connection gone
            return
        roundtrips.count_write()
        writer.writelines(outgoing)

    async def _read_replies(self, link: _Link) -> None:
        """Hand each reply to the oldest waiting read until none waits. Any failure other
        than a reply error leaves the stream out of step: the link is dropped."""
        connection = link.connection
        try:
            while link.waiting:
                error: ResponseError | None = None
                try:
                    reply = await connection.read_response()
                except ResponseError as exc:
                    error = exc
                future = link.waiting.popleft()
                if future.done():  # its caller was cancelled: the reply is read and dropped
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(reply)
        except BaseException as exc:
            await self._drop(link, exc)
            if not isinstance(exc, Exception):
                raise  # cancellation and exit requests go on
        finally:
            link.reader = None

    async def _drop(self, link: _Link, error: BaseException) -> None:
        """Fail every read waiting on ``link`` and close its connection."""
        if self._link is link:
            self._link = None
        link.outgoing.clear()
        failure = error if isinstance(error, Exception) else RedisConnectionError(str(error))
        while link.waiting:
            future = link.waiting.popleft()
            if not future.done():
                future.set_exception(failure)
        await link.connection.disconnect(nowait=True)

    async def aclose(self) -> None:
        """Close the connection; reads still waiting fail with ConnectionError. No Redis
        command."""
        link = self._link
        if link is None:
            return
        reader = link.reader
        await self._drop(link, RedisConnectionError("the client was closed"))
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()


def _closing(connection: Any) -> bool:
    writer = getattr(connection, "_writer", None)
    return writer is None or writer.transport.is_closing()
