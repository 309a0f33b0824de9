"""One client per event loop: ``PerLoop``.

A redis.asyncio connection pool belongs to the event loop it was first used in; a web app may
run several loops over its life (a second ``asyncio.run``, Django's test runner, asgiref's
``async_to_sync``). ``PerLoop`` keeps one ``AsyncDatabase`` per running loop and closes it
in that loop when the loop shuts down (``asyncio.run`` and asgiref close live async
generators at shutdown: a suspended one here closes the client), so no connection is left
for the garbage collector.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Callable

from .database import AsyncDatabase

__all__ = ["PerLoop"]


class _Entry:
    __slots__ = ("client", "closer", "task")

    def __init__(self, client: AsyncDatabase) -> None:
        self.client = client
        self.closer = _close_with_loop(client)
        self.task: asyncio.Task[None] | None = None


async def _close_with_loop(client: AsyncDatabase) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


async def _start(closer: AsyncGenerator[None, None]) -> None:
    await closer.__anext__()


class PerLoop:
    """``get()``: the running loop's client, made by ``factory()`` on first use in that loop.
    No Redis work (clients connect on their first command)."""

    def __init__(self, factory: Callable[[], AsyncDatabase]) -> None:
        self._factory = factory
        self._entries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> AsyncDatabase:
        """The running loop's client (RuntimeError outside a running loop). No Redis work."""
        loop = asyncio.get_running_loop()
        entry = self._entries.get(loop)
        if entry is None:
            entry = _Entry(self._factory())
            self._entries[loop] = entry
            # Start the closer in this loop (next iteration): from then on the loop's
            # shutdown closes the client.
            entry.task = loop.create_task(_start(entry.closer))
        return entry.client

    async def aclose(self) -> None:
        """Close the running loop's client now; the next ``get()`` makes a new one. No Redis
        command (closes sockets)."""
        entry = self._entries.pop(asyncio.get_running_loop(), None)
        if entry is None:
            return
        if entry.task is not None and not entry.task.done():
            await entry.task
        await entry.closer.aclose()  # runs its finally: closes the client ...
        await entry.client.aclose()  # ... unless the loop cancelled the closer's start
