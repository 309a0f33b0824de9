"""``AsyncAtomic``: ``Database.atomic()`` on asyncio, one MULTI/EXEC per block.

``async with AsyncAtomic(db) as a:`` opens a transaction pipeline (``a.pipe``) on an
asyncio client. Commands queued on it, and model writes given ``pipeline=a.pipe``
(``await User.create(..., pipeline=a.pipe)``, ``await row.save(pipeline=a.pipe)``,
``delete``, ``incr`` of an unindexed field, many-to-many ``add``/``remove``), are sent
together when the block ends: 1 round trip, all or nothing. An exception inside the block
discards them (nothing is sent). A queued model write is checked in its script when the
block ends: a refusal (a unique value taken, a row changed since it was read, a missing
row) makes the exit raise ``redis.ResponseError("WALRUS_REFUSED ...")`` and that write
does nothing, as with the sync ``with db.atomic()``. Queuing is synchronous, so the writes
of one block are not interleaved with other tasks' commands.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ..database import AtomicPipe

__all__ = ["AsyncAtomic"]


class AsyncAtomic(AtomicPipe):
    """An async context manager grouping commands in one MULTI/EXEC (the asyncio twin of
    ``with db.atomic() as a``): queue them on ``a.pipe``; other attributes of ``a`` are
    the pipeline's, so ``a.set(k, v)`` queues like ``a.pipe.set(k, v)``. Each block (or
    nested block) is its own transaction. ``results``: the replies of the last commit.
    No Redis work until the block ends (or ``commit``): then 1 round trip."""

    def __init__(self, database: Any) -> None:
        self.database = database
        self._pipe = None
        self.results: list[Any] | None = None

    def __repr__(self) -> str:
        state = "open" if self._pipe is not None else "closed"
        return f"<AsyncAtomic {state} on {self.database!r}>"

    def _open(self) -> Any:
        # transaction=True explicitly: a cluster pipeline defaults to no MULTI/EXEC.
        return self.database.pipeline(transaction=True)

    async def __aenter__(self) -> AsyncAtomic:
        """Open the block's pipeline. No Redis work."""
        if self._pipe is not None:
            raise RuntimeError(f"{self!r} is already open: use a new db.atomic() to nest")
        self._pipe = self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Send what was queued (1 round trip), or discard it when the block raised (no
        Redis work). Nothing when ``commit``/``clear(begin_new=False)`` closed it already."""
        if self._pipe is None:
            return
        if exc_type is not None:
            await self.clear(begin_new=False)
        else:
            await self.commit(begin_new=False)

    def _current(self, what: str) -> Any:
        if self._pipe is None:
            raise RuntimeError(f"{what}() of an AsyncAtomic outside its async with block")
        return self._pipe

    async def commit(self, begin_new: bool = True) -> list[Any]:
        """Send what was queued so far in one MULTI/EXEC and return the replies (also kept
        in ``results``); ``begin_new``: keep a fresh pipeline open for the rest of the
        block. 1 round trip (none when nothing was queued)."""
        pipe = self._current("commit")
        self._pipe = None
        try:
            self.results = list(await pipe.execute())
        finally:
            if begin_new:
                self._pipe = self._open()
        return self.results

    async def clear(self, begin_new: bool = True) -> None:
        """Discard what was queued so far; ``begin_new``: keep a fresh pipeline open. No
        Redis work."""
        pipe = self._current("clear")
        self._pipe = None
        await pipe.reset()
        if begin_new:
            self._pipe = self._open()
