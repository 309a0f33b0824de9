"""``ContainerFactories``: ``db.Hash(key)``, the other container builders and the helpers
written once for both clients (``db.counter``, ``db.rate_limit``, ``db.Index``, ``db.graph``,
``db.autocomplete``), shared by the sync
``Database`` (and ``ClusterDatabase``) and ``walrus.asyncio.AsyncDatabase``: on an asyncio
client their methods return awaitables (docs/asyncio.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .array import Array
from .bits import BitField, BloomFilter
from .consumer_group import ConsumerGroup
from .hash import Hash
from .hyperloglog import HyperLogLog
from .list import List
from .set import Set
from .streams import Stream
from .zset import ZSet

if TYPE_CHECKING:  # pragma: no cover
    from ..autocomplete import Autocomplete
    from ..counter import Counter
    from ..database import Database
    from ..fts import Index
    from ..graph import Graph
    from ..rate_limit import RateLimit
    from ..streams import TimeSeries

if TYPE_CHECKING:  # pragma: no cover
    # To a type checker, the asyncio mixin's base is the factories typed with the async
    # protocols (generated: walrus.asyncio.protocols); at runtime it is ContainerFactories.
    from ..asyncio.protocols import AsyncFactoryTypes as _AsyncBase

__all__ = ["AsyncContainerFactories", "ContainerFactories"]


class ContainerFactories:
    """The container factories of a client (a mixin). None of them does Redis work."""

    @property
    def _db(self) -> Database:
        # Containers are annotated with the sync ``Database``; an AsyncDatabase drives the
        # same code (containers/running.py), so this cast states the shared interface.
        return cast("Database", self)

    def Hash(self, key: Any) -> Hash:  # noqa: N802 - walrus API names
        """No Redis work: builds the container."""
        return Hash(self._db, key)

    def List(self, key: Any) -> List:  # noqa: N802
        """No Redis work: builds the container."""
        return List(self._db, key)

    def Set(self, key: Any) -> Set:  # noqa: N802
        """No Redis work: builds the container."""
        return Set(self._db, key)

    def ZSet(self, key: Any) -> ZSet:  # noqa: N802
        """No Redis work: builds the container."""
        return ZSet(self._db, key)

    def HyperLogLog(self, key: Any) -> HyperLogLog:  # noqa: N802
        """No Redis work: builds the container."""
        return HyperLogLog(self._db, key)

    def Array(self, key: Any) -> Array:  # noqa: N802
        """No Redis work: builds the container."""
        return Array(self._db, key)

    def Stream(self, key: Any) -> Stream:  # noqa: N802
        """No Redis work: builds the container."""
        return Stream(self._db, key)

    def bit_field(self, key: Any) -> BitField:
        """No Redis work: builds the container."""
        return BitField(self._db, key)

    def bloom_filter(self, key: Any, size: int = 64 * 1024) -> BloomFilter:
        """No Redis work: builds the container."""
        return BloomFilter(self._db, key, size)

    def consumer_group(self, group: Any, keys: Any, consumer: Any = None) -> ConsumerGroup:
        """No Redis work: builds the helper."""
        return ConsumerGroup(self._db, group, keys, consumer)

    def time_series(self, group: Any, keys: Any, consumer: Any = None) -> TimeSeries:
        """No Redis work: builds the helper."""
        from ..streams import TimeSeries

        return TimeSeries(self._db, group, keys, consumer)

    # -- helpers that run on either client ----------------------------------------------------

    def counter(self, name: str) -> Counter:
        """No Redis work: builds the helper."""
        from ..counter import Counter

        return Counter(self._db, name)

    def rate_limit(
        self,
        name: str,
        limit: int = 5,
        per: float = 60,
        debug: bool = False,
        strategy: str = "moving-window",
    ) -> RateLimit:
        """``limit`` events per ``per`` seconds per key under ``strategy`` ("moving-window",
        "fixed-window", "sliding-window-counter" or "gcra"); each check is 1 round trip."""
        from ..rate_limit import RateLimit

        return RateLimit(self._db, name, limit, per, debug, strategy)

    def rate_limit_lua(
        self, name: str, limit: int = 5, per: float = 60, debug: bool = False
    ) -> RateLimit:
        """Upstream's name for ``rate_limit`` (every limiter here is one Lua call).
        No Redis work: builds the helper."""
        return self.rate_limit(name, limit, per, debug)

    def Index(self, name: str, **options: Any) -> Index:  # noqa: N802
        """No Redis work: builds the helper."""
        from ..fts import Index

        return Index(self._db, name, **options)

    def graph(self, name: str, *args: Any, **kwargs: Any) -> Graph:
        """No Redis work: builds the helper."""
        from ..graph import Graph

        return Graph(self._db, name, *args, **kwargs)

    def autocomplete(self, namespace: str = "walrus", **kwargs: Any) -> Autocomplete:
        """No Redis work: builds the helper."""
        from ..autocomplete import Autocomplete

        return Autocomplete(self._db, namespace, **kwargs)


if not TYPE_CHECKING:
    _AsyncBase = ContainerFactories


class AsyncContainerFactories(_AsyncBase):
    """The container factories of an asyncio client (a mixin): at runtime exactly
    ``ContainerFactories`` (the same containers and helpers, driven asynchronously); to a type
    checker they return the async protocols of ``walrus.asyncio.protocols`` (``db.Hash(k)`` is
    an ``AsyncHash``, whose ``get`` is awaited). None of them does Redis work."""
