"""``ContainerFactories``: ``db.Hash(key)`` and the other container builders, shared by the
sync ``Database`` (and ``ClusterDatabase``) and ``walrus.asyncio.AsyncDatabase``: a container
of an asyncio client returns awaitables (docs/asyncio.md)."""

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
    from ..database import Database
    from ..streams import TimeSeries

__all__ = ["ContainerFactories"]


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
