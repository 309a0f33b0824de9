"""``HyperLogLog``: approximate distinct counting (PFADD / PFCOUNT / PFMERGE).

``count(*others)`` and ``merge`` touch several keys in one command: on Redis Cluster they
must share a hash slot (a common ``{tag}``), or ``walrus.cluster.CrossSlotError`` is raised,
naming the keys, before anything is sent.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from ..cluster import check_same_slot
from .base import Container
from .errors import (
    ContainerTypeError,
    WrongTypeError,
    check_values,
    guard,
    raise_wrong_type,
)

__all__ = ["HyperLogLog"]


class HyperLogLog(Container):
    """A Redis HyperLogLog: ``add`` items, ``len()`` estimates how many distinct were added
    (standard error 0.81%). Each method is one round trip."""

    redis_type = "hyperloglog"
    # TYPE reports "string"; the error path also checks the "HYLL" header.
    accepted_types: tuple[str, ...] = ("string",)

    @guard
    def add(self, *items: Any) -> bool:
        """PFADD; True when the estimate changed. 1 round trip."""
        check_values(self, items, "item")
        return bool(self.database.pfadd(self.key, *items))

    @guard
    def __len__(self) -> int:
        """PFCOUNT: the estimated number of distinct items. 1 round trip."""
        return int(self.database.pfcount(self.key))

    def count(self, *others: Any) -> int:
        """Estimated distinct items of this HyperLogLog and ``others`` together (PFCOUNT of
        several keys; nothing is stored). 1 round trip."""
        return self._count(self._others(others))

    @guard
    def _count(self, others: list[HyperLogLog]) -> int:
        keys = [self.key, *(o.key for o in others)]
        check_same_slot(self.database, keys, "PFCOUNT")
        return int(self.database.pfcount(*keys))

    def _others(self, others: tuple[Any, ...]) -> list[HyperLogLog]:
        result: list[HyperLogLog] = []
        for other in others:
            if isinstance(other, HyperLogLog):
                result.append(other)
            elif isinstance(other, (str, bytes)) and other:
                result.append(HyperLogLog(self.database, other))
            else:
                raise ContainerTypeError(
                    f"{self!r}: expected HyperLogLog objects or key names, "
                    f"got {type(other).__name__}"
                )
        return result

    def merge(self, dest: Any, *others: Any) -> HyperLogLog:
        """PFMERGE this and ``others`` (HyperLogLogs or key names) into ``dest``; returns a
        HyperLogLog for ``dest``. 1 round trip."""
        if isinstance(dest, HyperLogLog):
            target = dest
        elif isinstance(dest, (str, bytes)) and dest:
            target = HyperLogLog(self.database, dest)
        else:
            raise ContainerTypeError(
                f"{self!r}: dest must be a key name, got {type(dest).__name__}"
            )
        self._merge(target, self._others(others))
        return target

    def _merge(self, dest: HyperLogLog, others: list[HyperLogLog]) -> None:
        # PFMERGE also reads dest, so the error path checks its type too. WRONGTYPE is
        # translated inline rather than by @guard: one call level less on this path.
        keys = [dest.key, self.key]
        keys += [o.key for o in others]
        check_same_slot(self.database, keys, "PFMERGE")
        try:
            self.database.pfmerge(*keys)
        except ResponseError as exc:
            if isinstance(exc, WrongTypeError) or "WRONGTYPE" not in str(exc):
                raise
            raise_wrong_type(self, [dest, *others], exc)

    def __ior__(self, other: Any) -> HyperLogLog:
        """Merge ``other`` into this HyperLogLog (PFMERGE into this key). 1 round trip."""
        if not isinstance(other, HyperLogLog):
            return NotImplemented
        self._merge(self, [other])
        return self
