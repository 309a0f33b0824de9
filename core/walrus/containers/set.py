"""``Set``: a Redis set with a Python set-like interface.

Set algebra over several keys (``&``, ``|``, ``-``, their in-place forms, ``diffstore``,
``interstore``, ``unionstore``) is one command: on Redis Cluster every key involved,
destination included, must share a hash slot (give them a common ``{tag}``, e.g.
``"{team}:a"`` and ``"{team}:b"``). Otherwise ``walrus.cluster.CrossSlotError`` is raised,
naming the keys, before anything is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast, overload

from ..calls import call
from ..cluster import check_same_slot
from ..utils import decode as _decode
from .base import Container, Sortable
from .errors import ContainerTypeError, ContainerValueError, check_value, check_values
from .running import Returns, command, limited, pages

if TYPE_CHECKING:  # pragma: no cover
    from ..asyncio.cluster import AsyncClusterDatabase
    from ..asyncio.database import AsyncDatabase
    from ..asyncio.protocols import AsyncSet
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

    # The client decides at runtime (``is_async_client``: a coroutine execute_command): on
    # walrus's asyncio clients the same code returns a coroutine of the container, typed
    # with its protocol. Not any ``redis.asyncio.Redis``: its Pipeline subclass runs sync.
    @overload
    @classmethod
    def from_set(
        cls, database: Database, key: Any, data: Iterable[Any], clear: bool = False
    ) -> Set: ...
    @overload
    @classmethod
    def from_set(
        cls,
        database: AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Iterable[Any],
        clear: bool = False,
    ) -> Coroutine[Any, Any, AsyncSet]: ...
    @classmethod
    def from_set(
        cls,
        database: Database | AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Iterable[Any],
        clear: bool = False,
    ) -> Set | Coroutine[Any, Any, AsyncSet]:
        """Create a Set at ``key`` holding ``data`` (``clear`` drops old members first).
        One MULTI/EXEC round trip (on an asyncio client: ``await Set.from_set(...)``)."""
        st = cls(cast("Database", database), key)
        if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
            raise ContainerTypeError(
                f"{st!r}: from_set expects an iterable, got {type(data).__name__}"
            )
        members = list(data)
        check_values(st, members, "member")
        return st._fill_with(clear, call.sadd(key, *members) if members else None)

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

    def __contains__(self, item: Any) -> bool:
        """SISMEMBER. 1 round trip."""
        self._sync_only("in", "await s.contains(member)")
        return self.contains(item)

    @command
    def contains(self, item: Any) -> Returns[bool]:
        """True when ``item`` is a member (SISMEMBER; ``item in s``). 1 round trip."""
        check_value(self, item, "member")
        return bool((yield call.sismember(self.key, item)))

    def __len__(self) -> int:
        """SCARD. 1 round trip."""
        self._sync_only("len()", "await s.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """The number of members (SCARD; ``len(s)``). 1 round trip."""
        return int((yield call.scard(self.key)))

    def _iterate(self) -> Iterator[Any] | AsyncIterator[Any]:
        """Members, paging with SSCAN (1 round trip per page)."""
        return self._scan(None)

    def __delitem__(self, item: Any) -> None:
        """SREM one member. 1 round trip."""
        self._sync_only("del s[member]", "await s.remove(member)")
        self.remove(item)

    @command
    def add(self, *items: Any) -> Returns[int]:
        """SADD; returns how many were new. 1 round trip (none when no items)."""
        if not items:
            return 0
        check_values(self, items, "member")
        return int((yield call.sadd(self.key, *items)))

    @command
    def remove(self, *items: Any) -> Returns[int]:
        """SREM; returns how many were removed. 1 round trip (none when no items)."""
        if not items:
            return 0
        check_values(self, items, "member")
        return int((yield call.srem(self.key, *items)))

    @command
    def pop(self) -> Returns[Any]:
        """SPOP: remove and return a random member, or None when empty. 1 round trip."""
        return (yield call.spop(self.key))

    @command
    def random(self, n: int | None = None) -> Returns[Any]:
        """SRANDMEMBER: one random member (None when empty) or, with ``n``, a list of up to
        ``n`` distinct members (a negative ``n`` allows repeats: ``|n|`` draws, at most
        :data:`MAX_DRAWS` per call, else ContainerValueError before anything is sent).
        1 round trip."""
        if n is None:
            return (yield call.srandmember(self.key))
        if isinstance(n, bool) or not isinstance(n, int):
            raise ContainerTypeError(f"{self!r}: n must be an int, got {type(n).__name__}")
        if not -MAX_DRAWS <= n < 2**63:
            raise ContainerValueError(
                f"{self!r}: n must be between -{MAX_DRAWS} (that many draws with repeats, in one "
                f"reply) and 2**63 - 1, got {n}"
            )
        return list((yield call.srandmember(self.key, n)))

    @command
    def members(self) -> Returns[set[Any]]:
        """SMEMBERS as a Python set. 1 round trip."""
        return set((yield call.smembers(self.key)))

    @command
    def as_set(self, decode: bool = False) -> Returns[set[Any]]:
        """SMEMBERS as a Python set of bytes or (``decode=True``) str. 1 round trip."""
        members = yield call.smembers(self.key)
        if decode:
            return {_decode(m) for m in members}
        return set(members)

    def search(self, pattern: Any, count: int | None = None) -> Iterator[Any]:
        """Yield members matching the glob ``pattern`` (SSCAN MATCH), at most ``count`` (an
        async generator on an asyncio client). 1 round trip per SSCAN page, sent as the
        iterator is consumed."""
        check_value(self, pattern, "pattern")
        found = self._scan(pattern)
        return found if count is None else limited(found, count)  # type: ignore[return-value]

    def _scan(self, match: Any) -> Iterator[Any] | AsyncIterator[Any]:
        return pages(self, lambda cursor: self._scan_page(cursor, match))

    @command
    def _scan_page(self, cursor: int, match: Any) -> Returns[tuple[int, list[Any]]]:
        cursor, members = yield call.sscan(self.key, cursor, match=match)
        return cursor, list(members)

    # -- algebra ------------------------------------------------------------------------------

    @command
    def _combine(self, name: str, others: list[Set]) -> Returns[set[Any]]:
        keys = [self.key, *(o.key for o in others)]
        check_same_slot(self.database, keys, name)  # CrossSlotError before sending
        return set((yield call.execute_command(name, *keys)))

    @command
    def _store(self, name: str, dest: Any, others: list[Set], result: Any = None) -> Returns[Any]:
        """``name`` (a *STORE command) into ``dest``; returns ``result``, or the stored count
        when it is None. 1 round trip."""
        keys = [self.key, *(o.key for o in others)]
        check_same_slot(self.database, [dest, *keys], name)
        count = int((yield call.execute_command(name, dest, *keys)))
        return count if result is None else result

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
        self._sync_only("&=", "await s.interstore(s, other)")
        self._store("SINTERSTORE", self.key, [other])
        return self

    def __ior__(self, other: Any) -> Set:
        """Add the members of ``other`` (SUNIONSTORE into this key, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        self._sync_only("|=", "await s.unionstore(s, other)")
        self._store("SUNIONSTORE", self.key, [other])
        return self

    def __isub__(self, other: Any) -> Set:
        """Drop the members of ``other`` (SDIFFSTORE into this key, 1 round trip)."""
        if not isinstance(other, Set):
            return NotImplemented
        self._sync_only("-=", "await s.diffstore(s, other)")
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

    def _store_into(self, name: str, dest: Any, others: tuple[Any, ...]) -> Set:
        dest_key = self._dest(dest)
        stored = Set(self.database, dest_key)
        return cast(Set, self._store(name, dest_key, self._others(others), stored))

    def diffstore(self, dest: Any, *others: Any) -> Set:
        """Store this set minus ``others`` (Sets or key names) at ``dest``; returns a Set for
        ``dest``. 1 round trip (SDIFFSTORE)."""
        return self._store_into("SDIFFSTORE", dest, others)

    def interstore(self, dest: Any, *others: Any) -> Set:
        """Store the intersection with ``others`` at ``dest``; returns a Set for ``dest``.
        1 round trip (SINTERSTORE)."""
        return self._store_into("SINTERSTORE", dest, others)

    def unionstore(self, dest: Any, *others: Any) -> Set:
        """Store the union with ``others`` at ``dest``; returns a Set for ``dest``.
        1 round trip (SUNIONSTORE)."""
        return self._store_into("SUNIONSTORE", dest, others)
