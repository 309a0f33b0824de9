"""Command batching on asyncio: the reads and scripts many tasks of one event loop issue at
once go out in one socket write (auto-pipelining).

``execute_command`` takes a pooled connection per command and waits for its reply on it: with
50 tasks reading the cache at once that is 50 connections, 50 writes and 50 reply reads, each
with redis-py's per-command bookkeeping. ``CommandBatcher`` keeps one connection of its own
instead: every command queued during one turn of the loop is packed into a single write, and
one reader hands the replies out in order (Redis answers the commands of a connection in the
order it received them). Each command still costs at most one round trip (a socket write),
shared with the commands batched beside it.

Only commands that block nothing and leave no state on the connection go this way: the reads
of ``BATCHED_READS`` and walrus's Lua scripts (``EVALSHA``, ``EVAL``). If the connection
fails, every command waiting on it fails and the connection is dropped, so a late reply never
reaches another caller. A command that never reached the socket is sent again under the
client's retry policy; one whose reply was lost is judged as on a pooled connection
(``walrus.retry.lost_reply``): a read is resent, a write that is not safe to resend raises
``OutcomeUnknownError``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import roundtrips
from ..retry import lost_reply

__all__ = ["BATCHED_READS", "BATCHED_SCRIPTS", "CommandBatcher", "check_read"]

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
"""The reads ``execute_read`` batches: they block nothing, change nothing and redis-py returns
their reply as it comes (no reply callback)."""
BATCHED_SCRIPTS = frozenset({"EVAL", "EVALSHA"})
"""The script commands ``run_script`` batches (a Lua script cannot block)."""


def check_read(command: tuple[Any, ...]) -> None:
    """ValueError unless ``command`` is one of ``BATCHED_READS`` (any case). No Redis work."""
    if not command or not isinstance(command[0], (str, bytes)):
        raise ValueError(f"a batched read needs a command name, not {command!r}")
    name = command[0].decode() if isinstance(command[0], bytes) else command[0]
    if name.upper() not in BATCHED_READS:
        raise ValueError(
            f"{name!r} is not a batched read (one of {', '.join(sorted(BATCHED_READS))})"
        )


class _Pending:
    """One command waiting for its reply; ``sent`` once its bytes went to the socket."""

    __slots__ = ("command", "future", "sent")

    def __init__(self, command: tuple[Any, ...], future: asyncio.Future[Any]) -> None:
        self.command = command
        self.future = future
        self.sent = False


class _Link:
    """One connection of the batcher with its commands not yet written and those waiting
    for a reply, in order. A link that fails is dropped whole: nothing of it is reused."""

    __slots__ = ("connection", "flush_scheduled", "outgoing", "queued", "reader", "waiting")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.outgoing: list[bytes] = []
        self.queued: list[_Pending] = []  # in outgoing, not yet written
        self.waiting: deque[_Pending] = deque()
        self.flush_scheduled = False
        self.reader: asyncio.Task[None] | None = None


class CommandBatcher:
    """Sends the commands of one event loop on one connection of ``pool``'s kind, batched
    per loop turn. ``call(command)`` awaits one command's reply. Bound to the loop of its
    first call, as the pool is. The connection is opened on first use (its handshake: HELLO,
    AUTH, SELECT, as the pool's connections) and again after a failure."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._link: _Link | None = None
        self._opening: asyncio.Task[_Link] | None = None

    async def call(self, command: tuple[Any, ...]) -> Any:
        """The reply of one command (a read of ``BATCHED_READS`` or a script of
        ``BATCHED_SCRIPTS``, checked by the caller), sent with the other commands queued in
        this loop turn: at most 1 round trip. A reply error is raised as redis-py raises it.
        A connection error is raised as it came when the command never reached the socket or
        is safe to resend, else as ``OutcomeUnknownError``; nothing is resent here."""
        link = self._link
        if link is None or _closing(link.connection):
            link = await self._open()
        loop = asyncio.get_running_loop()
        pending = _Pending(command, loop.create_future())
        link.outgoing.extend(link.connection.pack_command(*command))
        link.queued.append(pending)
        link.waiting.append(pending)
        if not link.flush_scheduled:
            link.flush_scheduled = True
            loop.call_soon(self._flush, link)
        if link.reader is None:
            link.reader = loop.create_task(self._read_replies(link))
        try:
            return await pending.future
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # judged here, in the caller's task, where walrus.retry counts its resends
            unknown = lost_reply((command,), exc) if pending.sent else None
            if unknown is None:
                raise
            raise unknown from exc

    async def _open(self) -> _Link:
        # Every task arriving while the connection opens waits for the same opening, so they
        # all resume in one loop turn and their commands share the first write.
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
        writer = getattr(link.connection, "_writer", None)
        if writer is None or writer.transport.is_closing():
            # not sent: the reader fails them when its read finds the connection gone
            return
        outgoing, link.outgoing = link.outgoing, []
        queued, link.queued = link.queued, []
        for pending in queued:  # from here on, the server may run them
            pending.sent = True
        roundtrips.count_write()
        writer.writelines(outgoing)

    async def _read_replies(self, link: _Link) -> None:
        """Hand each reply to the oldest waiting command until none waits. Any failure other
        than a reply error leaves the stream out of step: the link is dropped."""
        connection = link.connection
        try:
            while link.waiting:
                error: ResponseError | None = None
                try:
                    reply = await connection.read_response()
                except ResponseError as exc:
                    error = exc
                future = link.waiting.popleft().future
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
        """Fail every command waiting on ``link`` and close its connection."""
        if self._link is link:
            self._link = None
        link.outgoing.clear()
        link.queued.clear()
        failure = (
            error
            if isinstance(error, (RedisConnectionError, RedisTimeoutError))
            else RedisConnectionError(f"the batch connection failed: {error!r}")
        )
        while link.waiting:
            future = link.waiting.popleft().future
            if not future.done():
                future.set_exception(failure)
        await link.connection.disconnect(nowait=True)

    async def aclose(self) -> None:
        """Close the connection; commands still waiting fail with ConnectionError. No Redis
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
