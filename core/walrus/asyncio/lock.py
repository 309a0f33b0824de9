"""``AsyncLock``: walrus's lock on asyncio (``async with``, ``await acquire()``).

The same keys, token, scripts and reply meanings as the sync ``walrus.Lock`` (the checks,
key layout, wait computation and reply reading are ``walrus.lock``'s functions); only the
sending is awaited. A sync and an async lock of one name exclude each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from .. import events
from ..lock import (
    LockBase,
    LockError,
    _check_acquire_args,
    _check_ms,
    release_result,
    renew_ms,
    wait_cap,
    wait_steps,
)
from ..lock_renewal import renewal_interval, renewal_outcome
from ..steps import adrive
from .client import connection_options

if TYPE_CHECKING:  # pragma: no cover
    from .database import AsyncDatabase

__all__ = ["AsyncLock", "AsyncLockRenewer"]


class AsyncLock(LockBase):
    """A named lock for asyncio code: ``async with db_lock: ...``.

    ``ttl``: milliseconds after which an unreleased lock frees itself (None or 0: never).
    ``lock_id``: the owner token (default: a uuid4 hex). Waiting blocks only the awaiting
    task: the wake-up BLPOP is awaited on a pooled connection.
    """

    database: AsyncDatabase

    async def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; True when taken (``block=False``: one attempt; ``timeout`` in
        seconds, None = no limit). Cost: 1 round trip when free; while held, 2 per wait
        (an atomic retry reading the holder's ttl, then a BLPOP on the wake-up list)."""
        _check_acquire_args(block, timeout)
        if await self.database.set(self.key, self._lock_id, nx=True, px=self.ttl):
            self._emit("acquired")
            return True
        if not block:
            self._emit("timeout")
            return False
        cap = wait_cap(connection_options(self.database), self.max_wait)
        return bool(await adrive(wait_steps(self._emit, cap, timeout), self._wait_step))

    async def _wait_step(self, wait: float | None) -> int | None:
        """One step of ``wait_steps``: an atomic retry (None) or a wait on the wake-up list."""
        if wait is None:
            script_args = [self._lock_id, self.ttl or 0]
            return int(await self.database.run_script("lock_acquire", [self.key], script_args))
        # BLPOP takes seconds with millisecond resolution; 0 would mean "forever".
        await self.database.blpop([self.event], timeout=max(round(wait, 3), 0.001))
        return None

    def _emit(self, outcome: str, started: float | None = None) -> None:
        if events.listeners:
            waited = 0.0 if started is None else time.monotonic() - started
            events.emit("lock", self.name, outcome, waited)

    async def release(self) -> bool:
        """Release the lock held by this token and wake one waiter; True. LockNotOwned when
        another token holds it, LockExpired when nobody does. Cost: 1 round trip (Lua)."""
        args = [self._lock_id, self.wakeup_ttl]
        result = await self.database.run_script("lock_release", [self.key, self.event], args)
        release_result(self.name, int(result))
        return True

    async def extend(self, additional_ms: int) -> int | None:
        """Add ``additional_ms`` to the time left of the lock this token holds; the new time
        left in ms (None without expiry). Errors as ``release``. Cost: 1 round trip (Lua)."""
        return await self._extend(_check_ms(additional_ms, "additional_ms"), "add")

    async def renew(self, ttl: int | None = None) -> int:
        """Restart the expiry: the lock now expires ``ttl`` ms from now (default: its own
        ttl); returns that ttl. Errors as ``release``. Cost: 1 round trip (Lua)."""
        result = await self._extend(renew_ms(self.name, self.ttl, ttl), "set")
        assert result is not None
        return result

    async def _extend(self, ms: int, mode: str) -> int | None:
        args = [self._lock_id, ms, mode]
        result = int(await self.database.run_script("lock_extend", [self.key], args))
        if result != -1:  # -1: held without expiry
            release_result(self.name, result, "extended")
        return None if result == -1 else result

    async def clear(self) -> bool:
        """Force the lock free whoever holds it, waking a waiter (deadlock recovery only).
        True when it was held. Cost: 1 round trip (Lua)."""
        keys, args = [self.key, self.event], [self.wakeup_ttl]
        return bool(await self.database.run_script("lock_clear", keys, args))

    async def locked(self) -> bool:
        """Whether anyone holds the lock. Cost: 1 round trip (EXISTS)."""
        return bool(await self.database.exists(self.key))

    async def owned(self) -> bool:
        """Whether this token holds the lock. Cost: 1 round trip (GET)."""
        token = self._lock_id.encode() if isinstance(self._lock_id, str) else self._lock_id
        return bool(await self.database.get(self.key) == token)

    def keep_alive(self, interval: float | None = None) -> AsyncLockRenewer:
        """An ``AsyncLockRenewer`` renewing this lock every ``interval`` seconds (default: a
        third of its ttl) while a long job runs: ``async with lock, lock.keep_alive(): ...``.
        ValueError for a lock without ttl. Cost: 1 round trip (Lua) per renewal."""
        return AsyncLockRenewer(self, interval)

    async def __aenter__(self) -> AsyncLock:
        await self.acquire()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        try:
            await self.release()
        except LockError:
            # Lost inside the block: say so, unless the block's own error is the one to see.
            if exc_type is None:
                raise


class AsyncLockRenewer:
    """Renew an ``AsyncLock`` every ``interval`` seconds (default: a third of its ttl) from
    a task of the running loop, until ``await stop()``: ``async with lock,
    lock.keep_alive(): ...``. ``lost`` turns True, and renewing stops, when a renewal finds
    the lock gone or held by another owner; a failed renewal (server unreachable) is logged
    and tried again. The same outcomes as the sync ``LockRenewer``. Cost: 1 round trip
    (Lua) per renewal."""

    def __init__(self, lock: AsyncLock, interval: float | None = None) -> None:
        self.lock = lock
        self.interval = renewal_interval(lock, interval)
        self.renewals = 0
        self.lost = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> AsyncLockRenewer:
        """Start renewing in the running loop (once); returns self. No Redis work here."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        """Stop renewing; a renewal on the wire is cancelled with the task. No Redis work."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        """True while renewals are scheduled. No Redis work."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.lock.renew()
            except (LockError, RedisError) as exc:
                if not renewal_outcome(self, exc):
                    return
            else:
                renewal_outcome(self, None)

    async def __aenter__(self) -> AsyncLockRenewer:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
