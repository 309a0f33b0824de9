"""``HyperLogLog``: approximate distinct counting (PFADD / PFCOUNT / PFMERGE).

``count(*others)`` and ``merge`` touch several keys in one command: on Redis Cluster they
must share a hash slot (a common ``{tag}``), or ``walrus.cluster.CrossSlotError`` is raised,
naming the keys, before anything is sent.
"""

from __future__ import annotations

from typing import Any

from ..calls import call
from ..cluster import check_same_slot
from .base import Container
from .errors import ContainerTypeError, check_values
from .running import Returns, command

__all__ = ["HyperLogLog"]


class HyperLogLog(Container):
    """A Redis HyperLogLog: ``add`` items, ``len()`` estimates how many distinct were added
    (standard error 0.81%; ``await hll.length()`` on an asyncio client). Each method is one
    round trip."""

    redis_type = "hyperloglog"
    # TYPE reports "string"; the error path also checks the "HYLL" header.
    accepted_types: tuple[str, ...] = ("string",)

    @command
    def add(self, *items: Any) -> Returns[bool]:
        """PFADD; True when the estimate changed. 1 round trip."""
        check_values(self, items, "item")
        return bool((yield call.pfadd(self.key, *items)))

    def __len__(self) -> int:
        """PFCOUNT: the estimated number of distinct items. 1 round trip."""
        self._sync_only("len()", "await hll.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """The estimated number of distinct items (PFCOUNT; ``len(hll)``). 1 round trip."""
        return int((yield call.pfcount(self.key)))

    def count(self, *others: Any) -> int:
        """Estimated distinct items of this HyperLogLog and ``others`` together (PFCOUNT of
        several keys; nothing is stored). 1 round trip."""
        return self._count(self._others(others))

    @command
    def _count(self, others: list[HyperLogLog]) -> Returns[int]:
        keys = [self.key, *(o.key for o in others)]
        check_same_slot(self.database, keys, "PFCOUNT")
        return int((yield call.pfcount(*keys)))

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
        return self._merge(target, self._others(others))

    @command
    def _merge(self, dest: HyperLogLog, others: list[HyperLogLog]) -> Returns[HyperLogLog]:
        # PFMERGE also reads dest: a WRONGTYPE reply is explained against this key, dest and
        # others (the HyperLogLog arguments of this command), in that order.
        keys = [dest.key, self.key]
        keys += [o.key for o in others]
        check_same_slot(self.database, keys, "PFMERGE")
        yield call.pfmerge(*keys)
        return dest

    def __ior__(self, other: Any) -> HyperLogLog:
        """Merge ``other`` into this HyperLogLog (PFMERGE into this key). 1 round trip."""
        self._sync_only("|=", "await hll.merge(hll, other)")
        if not isinstance(other, HyperLogLog):
            return NotImplemented
        self._merge(self, [other])
        return self
