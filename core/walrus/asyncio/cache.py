"""``AsyncCache``: walrus's ``Cache`` on asyncio.

Every call is the sync ``Cache``'s, written once as steps in ``walrus.cache.CacheBase`` (the
keys, the stored format of ``walrus.codec``, metrics, events and the commands sent); only
the sending is awaited. A sync and an async cache of one name and codec share their entries.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from redis.exceptions import ResponseError

from ..cache import CMD, MGET, SCRIPT, UNLINK, CacheBase, CacheMetrics, CacheStep, CacheSteps
from ..cache import check_timeout as _check_timeout
from ..stampede import (
    MISS,
    aget_or_fill,
    memo_fill_timeout,
    stampede_options,
)
from ..steps import adrive
from .batching import BATCHED_READS

if TYPE_CHECKING:  # pragma: no cover
    from .database import AsyncDatabase

__all__ = ["AsyncCache"]

A = TypeVar("A", bound=Callable[..., Awaitable[Any]])


class AsyncCache(CacheBase):
    """A namespace of cached values on an ``AsyncDatabase``: ``Cache``'s options
    (``default_timeout`` in seconds, ``serializer``, ``signing_key``, ``compressor``, ...),
    its keys and stored format, with coroutine methods."""

    database: AsyncDatabase  # type: ignore[assignment]  # the async client

    def __init__(self, database: AsyncDatabase, name: str = "cache", **options: Any) -> None:
        super().__init__(cast(Any, database), name, **options)

    async def _arun(self, steps: CacheSteps) -> Any:
        """Drive a call's steps on the ``AsyncDatabase`` (``walrus.steps``); a reply error goes
        back into the steps (``incr`` names the key in it)."""
        return await adrive(steps, self._asend, (ResponseError,))

    async def _asend(self, step: CacheStep) -> Any:
        kind, payload = step
        database: Any = self.database  # redis-py's asyncio commands are unannotated
        if kind == CMD:
            if payload[0] in BATCHED_READS:  # GET: shares a write with concurrent reads
                return await database.execute_read(*payload)
            return await database.execute_command(*payload)
        if kind == MGET:  # a cluster client splits it per slot (one MGET per slot, pipelined)
            if database.is_cluster:
                return await database.mget_nonatomic(payload)
            return await database.execute_read("MGET", *payload)
        if kind == UNLINK:
            return await database.unlink(*payload)
        if kind == SCRIPT:
            name, keys, args = payload
            return await database.run_script(name, keys=list(keys), args=list(args))
        async with database.pipeline(transaction=False) as pipe:
            for command in payload:
                pipe.execute_command(*command)
            return await pipe.execute()

    async def get(self, key: Any, default: Any = None) -> Any:
        """The cached value, or ``default`` on a miss (1 round trip)."""
        return await self._arun(self._get_steps(key, default))

    async def set(self, key: Any, value: Any, timeout: float | None = None) -> bool:
        """Cache ``value`` for ``timeout`` seconds (default: ``default_timeout``) (1 round trip)."""
        return bool(await self._arun(self._set_steps(key, value, timeout)))

    async def delete(self, key: Any) -> bool:
        """Remove ``key``; True when it existed (1 round trip)."""
        return bool(await self._arun(self._delete_steps(key)))

    async def incr(self, key: Any, delta: int = 1, timeout: float | None = None) -> int:
        """Add ``delta`` to the counter at ``key`` (0 when missing) and return it, as
        ``Cache.incr`` (1 round trip, atomic)."""
        return int(await self._arun(self._incr_steps(key, delta, timeout)))

    async def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        """The cached values of ``keys`` that are present, as a dict (1 round trip: MGET)."""
        found: dict[Any, Any] = await self._arun(self._get_many_steps(keys))
        return found

    async def set_many(
        self,
        data: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None = None,
        /,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> bool:
        """Cache every item of ``data`` and of the keyword arguments (1 round trip: one
        pipeline)."""
        return bool(await self._arun(self._set_many_steps(data, timeout, kwargs)))

    async def delete_many(self, keys: Iterable[Any]) -> int:
        """Remove ``keys``; returns how many existed (1 round trip: UNLINK)."""
        return int(await self._arun(self._delete_many_steps(keys)))

    async def get_or_set(
        self, key: Any, default: Any, timeout: float | None = None, **stampede: Any
    ) -> Any:
        """``Cache.get_or_set`` on asyncio: on a miss one caller (of any process, sync or
        async) computes ``default`` (called when callable, awaited when that returns an
        awaitable), stores and returns it while the others wait for it, at most
        ``lock_timeout`` seconds; ``early`` as there (``walrus.stampede``). Cost: 1 round
        trip on a hit. ``stampede``: ``lock_timeout`` (default 10.0) and ``early``."""
        lock_timeout, early = stampede_options(**stampede)
        _check_timeout(timeout)
        redis_key = self.make_key(key)

        async def produce() -> Any:
            value = default() if callable(default) else default
            if inspect.isawaitable(value):
                value = await value
            await self.set(key, value, timeout)
            return value

        if self.debug:
            return await produce()
        return await aget_or_fill(
            self.database, redis_key, self.decode, produce, lock_timeout=lock_timeout, early=early
        )

    def cached(
        self,
        key_fn: Callable[[tuple[Any, ...], dict[str, Any]], Any] | None = None,
        timeout: float | None = None,
        metrics: bool = False,
        lock_timeout: float | None = None,
        early: float | None = None,
    ) -> Callable[[A], A]:
        """Memoize a coroutine function: 1 round trip on a hit, 2 on a miss (get, then set),
        keys as ``Cache.cached`` (so a sync and an async cache share them). The wrapper
        gains ``bust(*args, **kwargs)`` (a coroutine), ``make_key(args, kwargs)`` and
        ``metrics``. ``lock_timeout`` (seconds) turns on stampede protection and ``early``
        refreshes ahead of expiry, as ``Cache.cached`` (``get_or_set``)."""
        _check_timeout(timeout)
        fill_timeout = memo_fill_timeout(lock_timeout, early)

        def decorator(fn: A) -> A:
            stats = CacheMetrics()

            @wraps(fn)
            async def inner(*args: Any, **kwargs: Any) -> Any:
                key = self._key_for(fn, key_fn, args, kwargs)
                start = time.perf_counter()
                computed: list[Any] = []

                async def produce() -> Any:
                    computed.append(await fn(*args, **kwargs))
                    await self.set(key, computed[0], timeout)
                    return computed[0]

                if fill_timeout is not None and not self.debug:
                    value = await aget_or_fill(
                        self.database,
                        self.make_key(key),
                        self.decode,
                        produce,
                        lock_timeout=fill_timeout,
                        early=early,
                    )
                else:
                    value = MISS if self.debug else await self.get(key, MISS)
                    if value is MISS:
                        value = await produce()
                if metrics:
                    stats.record(not computed, time.perf_counter() - start)
                return value

            async def bust(*args: Any, **kwargs: Any) -> bool:
                return await self.delete(self._key_for(fn, key_fn, args, kwargs))

            return cast(A, self._memoizer(inner, fn, key_fn, bust, stats))

        return decorator
