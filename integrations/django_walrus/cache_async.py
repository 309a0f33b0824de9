"""``WalrusCache``'s asyncio methods: native, on ``redis.asyncio`` (no thread per call).

Each ``a*`` method drives the same steps as its sync twin (``cache.py``: the commands a call
sends and how its reply is read, written once), on a ``walrus.asyncio.AsyncDatabase`` bound to
the running event loop. A connection pool belongs to one event loop, so each loop gets its own
client (a second ``asyncio.run``, Django's test runner and ``async_to_sync`` all work);
``aclose()`` closes the running loop's client. On a Redis Cluster the client is a
``walrus.asyncio.AsyncClusterDatabase`` (many-key reads split per slot, as the sync cache's);
a cache with ``REPLICAS`` reads from its replicas' async clients in turn, as the sync reads do.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from walrus.asyncio import AsyncDatabase, PerLoop
from walrus.stampede import MISS, aget_or_fill, stampede_options
from walrus.steps import adrive

from . import cache_steps as kinds
from .cache_steps import _IGNORED, Step, Steps, _ignorable, _incr_error, guarded
from .conf import _async_options, get_async_database

if TYPE_CHECKING:  # pragma: no cover
    from .cache import WalrusCache

__all__ = [
    "aadd",
    "aclear",
    "aclose",
    "adecr",
    "adelete",
    "adelete_many",
    "aget",
    "aget_many",
    "aget_or_set",
    "ahas_key",
    "aincr",
    "async_database",
    "aset",
    "aset_many",
    "atouch",
]

F = TypeVar("F", bound=Callable[..., Any])


_aguarded = guarded


def _second(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("default", args[1] if len(args) > 1 else None)


# -- plumbing ---------------------------------------------------------------------------------


def _per_loop(self: WalrusCache) -> PerLoop:
    """The cache's own clients, one per loop (a cache with its own LOCATION)."""
    per_loop = self.__dict__.get("_async_clients")
    if per_loop is None:
        self.check_configured()
        url, kwargs = str(self._location), _async_options(dict(self._pool_kwargs))
        per_loop = self.__dict__["_async_clients"] = PerLoop(
            lambda: AsyncDatabase.from_url(url, **kwargs)
        )
    return cast(PerLoop, per_loop)


def async_database(self: WalrusCache) -> AsyncDatabase:
    """The ``AsyncDatabase`` of the running event loop for this cache: its own (a LOCATION),
    or its WALRUS alias' (``get_async_database``, shared, re-read when settings change).
    Made on first use in each loop and closed when the loop shuts down. No Redis work."""
    if self._location:
        return _per_loop(self).get()
    self.check_configured()
    return get_async_database(self._alias)


def _replica_clients(self: WalrusCache) -> list[AsyncDatabase]:
    """The running loop's clients of this cache's REPLICAS (made on first use per loop)."""
    per_loop = self.__dict__.get("_async_replicas")
    if per_loop is None:
        kwargs = _async_options(dict(self._pool_kwargs))
        per_loop = self.__dict__["_async_replicas"] = [
            PerLoop(functools.partial(AsyncDatabase.from_url, url, **kwargs))
            for url in self._replica_urls
        ]
    return [replica.get() for replica in per_loop]


async def _aread(self: WalrusCache, database: AsyncDatabase, command: tuple[Any, ...]) -> Any:
    """A read on the next replica that is up (``WalrusCache._read``'s turns), else on
    ``database``; batched with the reads of concurrent tasks (``AsyncDatabase.execute_read``)
    unless ``BATCH_READS`` is off. At most 1 round trip (one more per replica found down)."""
    if self._replica_urls:
        replicas = _replica_clients(self)
        for index in self._replica_turns():
            try:
                return await _read_on(self, replicas[index], command)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                self._replica_down(index, exc)
    return await _read_on(self, database, command)


def _read_on(self: WalrusCache, database: AsyncDatabase, command: tuple[Any, ...]) -> Any:
    if self._batch_reads:
        return database.execute_read(*command)
    return database.execute_command(*command)


async def _arun(self: WalrusCache, steps: Steps) -> Any:
    """Drive a cache call's steps on the running loop's ``AsyncDatabase`` (``walrus.steps``)."""
    return await adrive(steps, self._asend)


async def _asend(self: WalrusCache, step: Step) -> Any:
    database = self.async_database()
    kind, payload = step
    if kind == kinds.CMD:
        return await database.execute_command(*payload)
    if kind == kinds.READ:
        return await _aread(self, database, payload)
    if kind == kinds.MGET:
        if database.is_cluster:  # one MGET per hash slot (a round trip per node)
            return await cast(Any, database).mget_nonatomic(list(payload))
        return await _aread(self, database, ("MGET", *payload))
    if kind == kinds.DELETE:
        return await database.delete(*payload)
    if kind == kinds.SCRIPT:
        name, keys, args = payload
        return await database.run_script(name, keys=list(keys), args=list(args))
    async with database.pipeline(transaction=kind == kinds.MULTI) as pipe:
        for command in payload:
            pipe.execute_command(*command)
        return await pipe.execute()


# -- the Django cache contract, natively -------------------------------------------------


@_aguarded(False)
async def aadd(
    self: WalrusCache,
    key: Any,
    value: Any,
    timeout: Any = DEFAULT_TIMEOUT,
    version: int | None = None,
) -> bool:
    """``add`` on asyncio. 1 round trip."""
    return bool(await self._arun(self._add_steps(key, value, timeout, version)))


@_aguarded(_second)
async def aget(self: WalrusCache, key: Any, default: Any = None, version: int | None = None) -> Any:
    """``get`` on asyncio. 1 round trip."""
    return await self._arun(self._get_steps(key, default, version))


@_aguarded(None)
async def aset(
    self: WalrusCache,
    key: Any,
    value: Any,
    timeout: Any = DEFAULT_TIMEOUT,
    version: int | None = None,
) -> None:
    """``set`` on asyncio. 1 round trip."""
    await self._arun(self._set_steps(key, value, timeout, version))


@_aguarded(False)
async def atouch(
    self: WalrusCache, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
) -> bool:
    """``touch`` on asyncio. 1 round trip."""
    return bool(await self._arun(self._touch_steps(key, timeout, version)))


@_aguarded(False)
async def adelete(self: WalrusCache, key: Any, version: int | None = None) -> bool:
    """``delete`` on asyncio. 1 round trip."""
    return bool(await self._arun(self._delete_steps(key, version)))


@_aguarded(lambda args, kwargs: {})
async def aget_many(
    self: WalrusCache, keys: Iterable[Any], version: int | None = None
) -> dict[Any, Any]:
    """``get_many`` on asyncio. 1 round trip (MGET)."""
    return cast("dict[Any, Any]", await self._arun(self._get_many_steps(keys, version)))


@_aguarded(False)
async def ahas_key(self: WalrusCache, key: Any, version: int | None = None) -> bool:
    """``has_key`` on asyncio. 1 round trip."""
    return bool(await self._arun(self._has_key_steps(key, version)))


async def _aincr(self: WalrusCache, key: Any, delta: int, version: int | None) -> int:
    try:
        return int(await self._arun(self._incr_steps(key, delta, version)))
    except ResponseError as exc:
        raise _incr_error(key, exc) from None


@_aguarded(None)
async def aincr(self: WalrusCache, key: Any, delta: int = 1, version: int | None = None) -> int:
    """``incr`` on asyncio. 1 round trip (the ``cache_incr`` script)."""
    return await self._aincr(key, delta, version)


@_aguarded(None)
async def adecr(self: WalrusCache, key: Any, delta: int = 1, version: int | None = None) -> int:
    """``decr`` on asyncio. 1 round trip (the ``cache_incr`` script)."""
    return await self._aincr(key, -delta, version)


@_aguarded(lambda args, kwargs: list((args[0] if args else kwargs.get("data", {})).keys()))
async def aset_many(
    self: WalrusCache,
    data: dict[Any, Any],
    timeout: Any = DEFAULT_TIMEOUT,
    version: int | None = None,
) -> list[Any]:
    """``set_many`` on asyncio. 1 round trip (MSET, or a pipeline of SETs)."""
    await self._arun(self._set_many_steps(data, timeout, version))
    return []


@_aguarded(None)
async def adelete_many(self: WalrusCache, keys: Iterable[Any], version: int | None = None) -> None:
    """``delete_many`` on asyncio. 1 round trip (DEL)."""
    await self._arun(self._delete_many_steps(keys, version))


async def aclear(self: WalrusCache) -> None:
    """``clear`` on asyncio: this cache's keys only (SCAN + UNLINK in batches of 500).
    1 round trip per SCAN page and per UNLINK batch."""
    database = self.async_database()
    batch: list[Any] = []
    async for key in database.scan_iter(match=self._prefix_pattern(), count=500):
        batch.append(key)
        if len(batch) >= 500:
            await database.unlink(*batch)
            batch = []
    if batch:
        await database.unlink(*batch)


async def aclose(self: WalrusCache, **kwargs: Any) -> None:
    """Close the running event loop's client of this cache's own LOCATION (its
    connections); the next call opens a new one. An alias' shared client stays open (it is
    closed with its loop). No Redis command."""
    per_loop = self.__dict__.get("_async_clients")
    if per_loop is not None:
        await per_loop.aclose()
    for replica in self.__dict__.get("_async_replicas", ()):
        await replica.aclose()


async def aget_or_set(
    self: WalrusCache,
    key: Any,
    default: Any,
    timeout: Any = DEFAULT_TIMEOUT,
    version: int | None = None,
    **stampede: Any,
) -> Any:
    """``get_or_set`` from async code, natively: the same once-per-key computation
    (``walrus.stampede``'s steps, awaited: waiting callers sleep in the loop, not in a
    thread); ``default`` may also be an async function. ``stampede``: ``lock_timeout``
    (default 10.0) and ``early``, as ``get_or_set``. Costs what ``get_or_set`` costs:
    1 round trip on a hit."""
    lock_timeout, early = stampede_options(**stampede)
    made = self.make_and_validate_key(key, version=version)
    computed: list[Any] = []
    started: list[bool] = []

    async def produce() -> Any:
        started.append(True)
        value = default() if callable(default) else default
        computed.append(await value if inspect.isawaitable(value) else value)
        await self.aset(key, computed[0], timeout, version)
        return computed[0]

    def decode(raw: Any) -> Any:
        return self._decode(made, raw, MISS)

    try:
        database = self.async_database()
        return await aget_or_fill(
            database, made, decode, produce, lock_timeout=lock_timeout, early=early
        )
    except _IGNORED as exc:
        if (started and not computed) or not _ignorable(self, exc, "get_or_set"):
            raise  # default() itself failed, or the error is not one to ignore
        return computed[0] if computed else await produce()
