"""``Set``: a Redis set with a Python set-like interface.

Set algebra over several keys (``&``, ``|``, ``-``, their in-place forms, ``diffstore``,
``interstore``, ``unionstore``) is one command: on Redis Cluster every key involved,
destination included, must share a hash slot (give them a common ``{tag}``, e.g.
``"{team}:a"`` and ``"{team}:b"``). Otherwise ``walrus.cluster.CrossSlotError`` is raised,
naming the keys, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..cluster import check_same_slot
from ..utils import decode as _decode
from .base import Container, Sortable
from .errors import ContainerTypeError, ContainerValueError, check_value, check_values, guard

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["MAX_DRAWS", "Set"]

# SRANDMEMBER with a negative count draws |count| members with repeats, all in one reply
# the server builds in memory before sending (no set bounds it: -2**40 from a one-member set
# is a hang and unbounded memory on both ends). 2**20 draws take about 0.1 s.
MAX_DRAWS = 2**20
"""The most members one random draw with repeats (a negative SRANDMEMBER count) may ask for: the
server builds the whole reply in memory first."""


class Set(Sortable, Container):
    """A Redis set. Members come back as bytes (``as_set(decode=True)`` for str).

    Each method is one round trip; iteration pages through SSCAN.
    """

    redis_type = "set"
    accepted_types: tuple[str, ...] = ("set",)

    @classmethod
    def from_set(
        cls, database: Database, key: Any, data: Iterable[Any], clear: bool = False
    ) -> Set:
        """Create a Set at ``key`` holding ``data`` (``clear`` drops old members first).
        One MULTI/EXEC round trip."""
        st = cls(database, key)
        if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
            raise ContainerTypeError(
                f"{st!r}: from_set expects an iterable, got {type(data).__name__}"
            )
        members = list(data)
        check_values(st, members, "member")
        pipe = database.pipeline(transaction=True)
        if clear:
            pipe.delete(key)
        if members:
            pipe.sadd(key, *members)
        if len(pipe):  # len(): cluster pipelines queue elsewhere than command_stack
            st._run_pipe(pipe)
        return st

    @guard
    def _run_pipe(self, pipe: Any) -> list[Any]:
        return list(pipe.execute())

    def _others(self, others: Iterable[Any]) -> list[Set]:
        """Other sets given as Set objects or key names."""
        result: list[Set] = []
        for other in others:
            if isinstance(other, Set):
                result.append(other)
            elif isinstance(other, (str, bytes)) and other:
                result.append(Set(self.database, other))
            else:
                raise ContainerTypeError(
                    f"{self!r}: expected Set objects or key names, got {type(other).__name__}"
                )
        return result

    # -- set protocol -------------------------------------------------------------------------

    @guard
    def __contains__(self, item: Any) -> bool:
        """SISMEMBER. 1 round trip."""
        check_value(self, item, "member")
        return bool(self.database.sismember(self.key, item))

    @guard
    def __len__(self) -> int:
        """SCARD. 1 round trip."""
        return int(self.database.scard(self.key))

    @guard
    def __iter__(self) -> Iterator[Any]:
        """Yield members, paging with SSCAN (1 round trip per page)."""
        yield from self.database.sscan_iter(self.key)

    @guard
    def __delitem__(self, item: Any) -> None:
        """SREM one member. 1 round trip."""
        check_value(self, item, "member")
        self.database.srem(self.key, item)

    @guard
    def add(self, *items: Any) -> int:
        """SADD; returns how many were new. 1 round trip (none when no items)."""
        if not items:
            return 0
        check_values(self, items, "member")
        return int(self.database.sadd(self.key, *items))

    @guard
    def remove(self, *items: Any) -> int:
        """SREM; returns how many were removed. 1 round trip (none when no items)."""
        if not items:
            return 0
        check_values(self, items, "member")
        return int(self.database.srem(self.key, *items))

    @guard
    def pop(self) -> Any:
        """SPOP: remove and return a random member, or None when empty. 1 round trip."""
        return self.database.spop(self.key)

    @guard
    def random(self, n: int | None = None) -> Any:
        """SRANDMEMBER: one random member (None when empty) or, with ``n``, a list of up to
        ``n`` distinct members (a negative ``n`` allows repeats: ``|n|`` draws, at most
        :data:`MAX_DRAWS` per call, else ContainerValueError before anything is sent).
        1 round trip."""
        if n is None:
            return self.database.srandmember(self.key)
        if isinstance(n, bool) or not isinstance(n, int):
            raise ContainerTypeError(f"{self!r}: n must be an int, got {type(n).__name__}")
        if not -MAX_DRAWS <= n < 2**63:
            raise ContainerValueError(
                f"{self!r}: n must be between -{MAX_DRAWS} (that many draws with repeats, in one "
                f"reply) and 2**63 - 1, got {n}"
            )
        return list(self.database.srandmember(self.key, n))  # type: ignore[arg-type]

    @guard
    def members(self) -> set[Any]:
        """SMEMBERS as a Python set. 1 round trip."""
        return set(self.database.smembers(self.key))

    @guard
    def as_set(self, decode: bool = False) -> set[Any]:
        """SMEMBERS as a Python set of bytes or (``decode=True``) str. 1 round trip."""
        members = self.database.smembers(self.key)
        if decode:
            return {_decode(m) for m in members}
        return set(members)

    def search(self, pattern: Any, count: int | None = None) -> Iterator[Any]:
        """Yield members matching the glob ``pattern`` (SSCAN MATCH), at most ``count``. 1 round
        trip per SSCAN page, sent as the iterator is consumed."""
        check_value(self, pattern, "pattern")
        found = self._scan(pattern)
        return found if count is None else islice(found, count)

    @guard
    def _scan(self, match: Any) -> Iterator[Any]:
        yield from self.database.sscan_iter(self.key, match=match)

    # -- algebra ------------------------------------------------------------------------------

    @guard
    def _combine(self, command: str, others: list[Set]) -> set[Any]:
        keys = [self.key, *(o.key for o in others)]
        check_same_slot(self.database, keys, command)  # CrossSlotError before sending
        return set(self.database.execute_command(command, *keys))

    @guard
    def _store(self, command: str, dest: Any, others: list[Set]) -> int:
        keys = [self.key, *(o.key for o in others)]
        check_same_slot(self.database, [dest, *keys], command)
        return int(self.database.execute_command(command, dest, *keys))

    def __and__(self, other: Any) -> set[Any]:
        """Intersection with another Set, as a Python set (SINTER, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        return self._combine("SINTER", [other])

    def __or__(self, other: Any) -> set[Any]:
        """Union with another Set, as a Python set (SUNION, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        return self._combine("SUNION", [other])

    def __sub__(self, other: Any) -> set[Any]:
        """Difference with another Set, as a Python set (SDIFF, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        return self._combine("SDIFF", [other])

    def __iand__(self, other: Any) -> Set:
        """Keep only members also in ``other`` (SINTERSTORE into this key, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        self._store("SINTERSTORE", self.key, [other])
        return self

    def __ior__(self, other: Any) -> Set:
        """Add the members of ``other`` (SUNIONSTORE into this key, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        self._store("SUNIONSTORE", self.key, [other])
        return self

    def __isub__(self, other: Any) -> Set:
        """Drop the members of ``other`` (SDIFFSTORE into this key, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        self._store("SDIFFSTORE", self.key, [other])
        return self

    def _dest(self, dest: Any) -> Any:
        if isinstance(dest, Set):
            return dest.key
        if not isinstance(dest, (str, bytes)) or not dest:
            raise ContainerTypeError(
                f"{self!r}: dest must be a key name, got {type(dest).__name__}"
            )
        return dest

    def diffstore(self, dest: Any, *others: Any) -> Set:
        """Store this set minus ``others`` (Sets or key names) at ``dest``; returns a Set for
        ``dest``. 1 round trip (SDIFFSTORE)."""
        dest_key = self._dest(dest)
        self._store("SDIFFSTORE", dest_key, self._others(others))
        return Set(self.database, dest_key)

    def interstore(self, dest: Any, *others: Any) -> Set:
        """Store the intersection with ``others`` at ``dest``; returns a Set for ``dest``.
        1 round trip (SINTERSTORE)."""
        dest_key = self._dest(dest)
        self._store("SINTERSTORE", dest_key, self._others(others))
        return Set(self.database, dest_key)

    def unionstore(self, dest: Any, *others: Any) -> Set:
        """Store the union with ``others`` at ``dest``; returns a Set for ``dest``.
        1 round trip (SUNIONSTORE)."""
        dest_key = self._dest(dest)
        self._store("SUNIONSTORE", dest_key, self._others(others))
        return Set(self.database, dest_key)
