"""``ZSet``: a Redis sorted set that acts like both a set and a dict of member -> score.

``interstore``/``unionstore`` are one command over several keys: on Redis Cluster they must
all share a hash slot (a common ``{tag}``), or ``walrus.cluster.CrossSlotError`` is raised,
naming the keys, before anything is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast, overload

from ..calls import Batch, call
from ..cluster import check_same_slot
from ..utils import decode as _decode
from .base import Container, Sortable
from .errors import (
    VALUE_TYPES,
    ContainerTypeError,
    ContainerValueError,
    check_index,
    check_score,
    check_value,
    check_values,
)
from .list import slice_step, slice_to_range
from .running import Returns, command, limited, pages
from .set import Set

if TYPE_CHECKING:  # pragma: no cover
    from ..asyncio.cluster import AsyncClusterDatabase
    from ..asyncio.database import AsyncDatabase
    from ..asyncio.protocols import AsyncZSet
    from ..database import Database

__all__ = ["ZSet"]

Pairs = list[tuple[Any, float]]


def _pairs(rows: Any) -> Pairs:
    """(member, score) tuples from any reply shape: RESP2 tuples, RESP3 [member, score]
    lists, a flat [m, s, m, s] array (Lua, RESP3 pops without count)."""
    if not rows:
        return []
    first = rows[0]
    if type(first) is tuple:
        # redis-py builds a fresh list per reply: hand it over rather than copy it.
        return rows if type(rows) is list else list(rows)
    if isinstance(first, list):
        return [(m, float(s)) for m, s in rows]
    return [(rows[i], float(rows[i + 1])) for i in range(0, len(rows), 2)]


def _number_text(value: float) -> str:
    # repr() keeps every digit; Redis reads "inf"/"-inf" too.
    return repr(value)


class ZSet(Sortable, Container):
    """A Redis sorted set. Members come back as bytes, scores as floats.

    Each method is one round trip; iteration pages through ZSCAN. On an asyncio client
    (``AsyncDatabase``) the methods return awaitables and ``async for`` iterates.
    """

    redis_type = "zset"
    accepted_types: tuple[str, ...] = ("zset",)
    # Store commands (ZUNIONSTORE/ZINTERSTORE) also read plain sets, as score-1 members.
    accepted_other_types: tuple[str, ...] = ("zset", "set")

    # The client decides at runtime (``is_async_client``: a coroutine execute_command): on
    # walrus's asyncio clients the same code returns a coroutine of the container, typed
    # with its protocol. Not any ``redis.asyncio.Redis``: its Pipeline subclass runs sync.
    @overload
    @classmethod
    def from_dict(
        cls, database: Database, key: Any, data: Mapping[Any, Any], clear: bool = False
    ) -> ZSet: ...
    @overload
    @classmethod
    def from_dict(
        cls,
        database: AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Mapping[Any, Any],
        clear: bool = False,
    ) -> Coroutine[Any, Any, AsyncZSet]: ...
    @classmethod
    def from_dict(
        cls,
        database: Database | AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Mapping[Any, Any],
        clear: bool = False,
    ) -> ZSet | Coroutine[Any, Any, AsyncZSet]:
        """Create a ZSet at ``key`` from a {member: score} mapping (``clear`` drops old members
        first). One MULTI/EXEC round trip (on an asyncio client: ``await
        ZSet.from_dict(...)``)."""
        zs = cls(cast("Database", database), key)
        if not isinstance(data, Mapping):
            raise ContainerTypeError(
                f"{zs!r}: from_dict expects a mapping, got {type(data).__name__}"
            )
        mapping = zs._mapping(dict(data), (), {})
        return zs._fill_with(clear, call.zadd(key, mapping) if mapping else None)

    # -- argument helpers ---------------------------------------------------------------------

    def _mapping(
        self, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[Any, float]:
        """A NEW {member: score} dict from a mapping, ``item, score, ...`` pairs and keywords."""
        data: dict[Any, float] = {}
        if isinstance(first, Mapping):
            if args:
                raise ContainerTypeError(
                    f"{self!r}: add takes a mapping or item, score pairs, not both"
                )
            pairs: Iterable[tuple[Any, Any]] = first.items()
        elif first is None:
            if args:
                raise ContainerTypeError(f"{self!r}: add got scores without items")
            pairs = ()
        else:
            flat = (first, *args)
            if len(flat) % 2:
                raise ContainerTypeError(
                    f"{self!r}: add expects item, score pairs, got {len(flat)} values"
                )
            pairs = zip(flat[::2], flat[1::2], strict=True)
        for member, score in (*pairs, *kwargs.items()):
            if type(member) not in VALUE_TYPES:
                check_value(self, member, "member")
            # floats and ints skip check_score (and its message) unless they are NaN
            if (type(score) is float and score == score) or type(score) is int:
                data[member] = float(score)
            else:
                data[member] = check_score(self, score, f"score of {member!r}")
        return data

    def _score_bound(self, value: Any, what: str) -> tuple[str, float]:
        """A score bound as text Redis reads (``"(1.5"`` exclusive, ``"-inf"``) and its value."""
        if isinstance(value, (str, bytes)):
            try:
                text = _decode(value).strip() if isinstance(value, bytes) else value.strip()
            except UnicodeDecodeError:
                raise ContainerValueError(
                    f"{self!r}: {what} must be a number, got {value!r}"
                ) from None
            exclusive = text.startswith("(")
            number = check_score(self, text[1:] if exclusive else text, what)
            return ("(" if exclusive else "") + _number_text(number), number
        number = check_score(self, value, what)
        return _number_text(number), number

    def _lex_bound(self, value: Any, what: str) -> tuple[Any, int, bytes]:
        """Validate a lex bound: ``-``, ``+``, ``[value`` (inclusive) or ``(value``."""
        if not isinstance(value, (str, bytes)):
            raise ContainerTypeError(
                f"{self!r}: {what} must be str or bytes, got {type(value).__name__}"
            )
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if raw == b"-":
            return value, -1, b""
        if raw == b"+":
            return value, 1, b""
        if raw[:1] in (b"[", b"("):
            return value, 0, raw[1:]
        raise ContainerValueError(
            f"{self!r}: {what} must be '-', '+', '[value' (inclusive) or '(value' (exclusive), "
            f"got {value!r}"
        )

    def _lex_bounds(self, low: Any, high: Any) -> tuple[Any, Any]:
        lo, lo_rank, lo_val = self._lex_bound(low, "low")
        hi, hi_rank, hi_val = self._lex_bound(high, "high")
        # Accept bounds given high-first too (as ZREVRANGEBYLEX takes them).
        if (lo_rank, lo_val) > (hi_rank, hi_val):
            return hi, lo
        return lo, hi

    def _others(self, others: Iterable[Any]) -> list[Container]:
        result: list[Container] = []
        for other in others:
            if isinstance(other, (ZSet, Set)):
                result.append(other)
            elif isinstance(other, (str, bytes)) and other:
                result.append(ZSet(self.database, other))
            else:
                raise ContainerTypeError(
                    f"{self!r}: expected ZSet/Set objects or key names, got {type(other).__name__}"
                )
        return result

    def _count(self, count: Any) -> int:
        if isinstance(count, bool) or not isinstance(count, int):
            raise ContainerTypeError(f"{self!r}: count must be an int, got {type(count).__name__}")
        if count < 1:
            raise ContainerValueError(f"{self!r}: count must be at least 1, got {count}")
        # Beyond any sorted set; also what popmax_compat's ZRANGE -count can still read.
        return min(count, 2**63 - 1)

    # -- dict / set protocol ------------------------------------------------------------------

    def __contains__(self, item: Any) -> bool:
        """ZSCORE is not nil. 1 round trip."""
        self._sync_only("in", "await zs.contains(member)")
        return self.contains(item)

    @command
    def contains(self, item: Any) -> Returns[bool]:
        """True when ``item`` is a member (ZSCORE is not nil; ``item in zs``). 1 round trip."""
        check_value(self, item, "member")
        return (yield call.zscore(self.key, item)) is not None

    def __len__(self) -> int:
        """ZCARD. 1 round trip."""
        self._sync_only("len()", "await zs.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """The number of members (ZCARD; ``len(zs)``). 1 round trip."""
        return int((yield call.zcard(self.key)))

    def _iterate(self) -> Iterator[tuple[Any, float]] | AsyncIterator[tuple[Any, float]]:
        """``(member, score)`` pairs, paging with ZSCAN (1 round trip per page)."""
        return self._scan(None)

    def __setitem__(self, item: Any, score: Any) -> None:
        """ZADD one member. 1 round trip."""
        self._sync_only("zs[member] = score", "await zs.set(member, score)")
        self.set(item, score)

    @command
    def set(self, item: Any, score: Any) -> Returns[None]:
        """ZADD one member with its score (``zs[member] = score``). 1 round trip."""
        check_value(self, item, "member")
        yield call.zadd(self.key, {item: check_score(self, score)})

    @command
    def __getitem__(self, item: Any) -> Returns[list[Any]]:
        """Members by rank, as a list (with ``(member, score)`` tuples when asked):

        ``zs[:10]``, ``zs[-3:]``, ``zs[::-1]`` rank slices (stop exclusive, as Python);
        ``zs['k1':'k10']``, ``zs[:'k5']`` member bounds (INCLUSIVE; KeyError if missing);
        ``zs[i]`` the member at rank ``i`` as a one-item list (empty when out of range);
        ``zs[:10, True]`` adds scores. 1 round trip (awaitable on an asyncio client).
        """
        with_scores = False
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[1], int):
                raise ContainerTypeError(f"{self!r}: use zs[range] or zs[range, with_scores: bool]")
            item, with_scores = item[0], bool(item[1])
        if type(item) is slice:
            start, stop = item.start, item.stop
            if (
                item.step is None
                and (start is None or type(start) is int)
                and (stop is None or type(stop) is int)
            ):
                # Plain rank slices (``zs[:10]``, ``zs[-3:, True]``) go straight to ZRANGE.
                if stop == 0:
                    return []
                rows = yield call.zrange(
                    self.key, start or 0, -1 if stop is None else stop - 1, withscores=with_scores
                )
                if not with_scores:
                    return list(rows)
                if rows and type(rows[0]) is tuple and type(rows) is list:
                    return rows  # RESP2: redis-py paired them, in a new list
                return _pairs(rows)
            return (yield from self._slice_get(item, with_scores))
        if isinstance(item, (str, bytes)):
            mode = "scores" if with_scores else "get"
            found: list[Any] = yield from self._member_range(mode, ("m", item), ("m", item))
            return found
        index = check_index(self, item, "ZSet rank")
        return (yield from self._rank_range(index, index, with_scores))

    def __delitem__(self, item: Any) -> None:
        """``del zs['a']`` / ``del zs['a', 'b']`` remove members (ZREM); ``del zs[2:5]`` and
        ``del zs['k1':'k5']`` remove by rank (member bounds inclusive). 1 round trip."""
        self._sync_only("del zs[item]", "await zs.delete(item)")
        self.delete(item)

    @command
    def delete(self, item: Any) -> Returns[None]:
        """``del zs[item]``: a member or a tuple/list of members (ZREM), or a slice of ranks
        or of member bounds (inclusive; KeyError when a bound is missing). 1 round trip
        (none when surely empty)."""
        if isinstance(item, slice):
            if slice_step(self, item) != 1:
                raise ContainerValueError(f"{self!r}: del with a slice step is not supported")
            start, stop = self._bounds(item)
            if start is None or stop is None:
                return
            if start[0] == "r" and stop[0] == "r":
                yield call.zremrangebyrank(self.key, start[1], stop[1])
            else:
                yield from self._member_range("del", start, stop)
            return
        members = list(item) if isinstance(item, (tuple, list)) else [item]
        yield from self._remove(members)

    def _bounds(self, item: slice) -> tuple[Any, Any]:
        """Start/stop as ("r", rank) / ("m", member); (None, None) for a surely empty range."""
        start: Any = ("r", 0)
        if isinstance(item.start, (str, bytes)):
            start = ("m", item.start)
        elif item.start is not None:
            start = ("r", check_index(self, item.start, "slice start"))
        if item.stop is None:
            return start, ("r", -1)
        if isinstance(item.stop, (str, bytes)):
            return start, ("m", item.stop)
        stop = check_index(self, item.stop, "slice stop")
        if stop == 0:
            return None, None
        return start, ("r", stop - 1)

    def _slice_get(self, item: slice, with_scores: bool) -> Returns[list[Any]]:
        step = slice_step(self, item)
        if step != 1:
            if isinstance(item.start, (str, bytes)) or isinstance(item.stop, (str, bytes)):
                raise ContainerValueError(f"{self!r}: a slice step needs rank (int) bounds")
            slice_to_range(self, item)  # validates the bounds
            return (yield from self._rank_range(0, -1, with_scores))[item]
        start, stop = self._bounds(item)
        if start is None or stop is None:
            return []
        if start[0] == "r" and stop[0] == "r":
            return (yield from self._rank_range(start[1], stop[1], with_scores))
        rows: list[Any] = yield from self._member_range(
            "scores" if with_scores else "get", start, stop
        )
        return rows

    def _rank_range(self, start: int, stop: int, with_scores: bool) -> Returns[list[Any]]:
        rows = yield call.zrange(self.key, start, stop, withscores=with_scores)
        return _pairs(rows) if with_scores else list(rows)

    def _member_range(
        self, mode: str, start: tuple[str, Any], stop: tuple[str, Any]
    ) -> Returns[Any]:
        for kind, value in (start, stop):
            if kind == "m":
                check_value(self, value, "member bound")
        reply = yield call.run_script(
            "zset_range_by_member", [self.key], [mode, start[0], start[1], stop[0], stop[1]]
        )
        if isinstance(reply, int) and reply < 0:
            missing = start[1] if reply == -1 else stop[1]
            raise KeyError(missing)
        if mode == "del":
            return int(reply)
        if mode == "scores":
            return _pairs(reply)
        return list(reply)

    # -- writing ------------------------------------------------------------------------------

    @command
    def add(self, _mapping: Any = None, *args: Any, **kwargs: Any) -> Returns[int]:
        """ZADD members with scores, given as a mapping, ``item, score, ...`` arguments and/or
        keywords (``zs.add({'a': 1})``, ``zs.add(a=1, b=2)``, ``zs.add('a', 1)``). Returns how
        many members were new. 1 round trip (none when empty); the caller's dict is not touched."""
        # Hot path: a plain dict of members to real-number scores goes to ZADD as it is
        # (redis-py only reads it); anything else takes the checks of _mapping.
        if type(_mapping) is dict and not args and not kwargs:
            for member, score in _mapping.items():
                if type(member) not in VALUE_TYPES or not (
                    type(score) is int or (type(score) is float and score == score)
                ):
                    break
            else:
                return int((yield call.zadd(self.key, _mapping))) if _mapping else 0
        data = self._mapping(_mapping, args, kwargs)
        if not data:
            return 0
        return int((yield call.zadd(self.key, data)))

    @command
    def remove(self, *items: Any) -> Returns[int]:
        """ZREM; returns how many were removed. 1 round trip (none when no items)."""
        return (yield from self._remove(items))

    def _remove(self, items: Sequence[Any]) -> Returns[int]:
        if not items:
            return 0
        check_values(self, items, "member")
        return int((yield call.zrem(self.key, *items)))

    @command
    def incr(self, key: Any, incr_by: Any = 1.0) -> Returns[float]:
        """ZINCRBY: add ``incr_by`` to the member's score (0 when new); the new score.
        1 round trip."""
        check_value(self, key, "member")
        return float((yield call.zincrby(self.key, check_score(self, incr_by, "incr_by"), key)))

    @command
    def remove_by_rank(self, low: int, high: int | None = None) -> Returns[int]:
        """ZREMRANGEBYRANK low..high inclusive (just ``low`` when ``high`` is None); the
        number removed. 1 round trip."""
        lo = check_index(self, low, "low")
        hi = lo if high is None else check_index(self, high, "high")
        return int((yield call.zremrangebyrank(self.key, lo, hi)))

    @command
    def remove_by_score(self, low: Any, high: Any = None) -> Returns[int]:
        """ZREMRANGEBYSCORE low..high (just score ``low`` when ``high`` is None; ``"(x"`` is
        exclusive, ``"-inf"``/``"+inf"`` unbounded); the number removed. 1 round trip."""
        lo = self._score_bound(low, "low")[0]
        hi = lo if high is None else self._score_bound(high, "high")[0]
        return int((yield call.zremrangebyscore(self.key, lo, hi)))

    @command
    def remove_by_lex(self, low: Any, high: Any) -> Returns[int]:
        """ZREMRANGEBYLEX between lex bounds (``-``, ``+``, ``[a``, ``(a``); the number
        removed. 1 round trip."""
        lo, hi = self._lex_bounds(low, high)
        return int((yield call.zremrangebylex(self.key, lo, hi)))

    # -- reading ------------------------------------------------------------------------------

    @command
    def score(self, item: Any) -> Returns[float | None]:
        """ZSCORE: the member's score, or None when absent. 1 round trip."""
        check_value(self, item, "member")
        value = yield call.zscore(self.key, item)
        return None if value is None else float(value)

    @command
    def rank(self, item: Any, reverse: bool = False) -> Returns[int | None]:
        """ZRANK (ZREVRANK with ``reverse``): 0-based position, or None when absent.
        1 round trip."""
        check_value(self, item, "member")
        value = yield (call.zrevrank if reverse else call.zrank)(self.key, item)
        return None if value is None else int(value)

    @command
    def count(self, low: Any, high: Any = None) -> Returns[int]:
        """ZCOUNT of scores in low..high (just score ``low`` when ``high`` is None).
        1 round trip."""
        lo = self._score_bound(low, "low")[0]
        hi = lo if high is None else self._score_bound(high, "high")[0]
        return int((yield call.zcount(self.key, lo, hi)))

    @command
    def lex_count(self, low: Any, high: Any) -> Returns[int]:
        """ZLEXCOUNT between lex bounds (``-``, ``+``, ``[a`` inclusive, ``(a`` exclusive).
        1 round trip."""
        lo, hi = self._lex_bounds(low, high)
        return int((yield call.zlexcount(self.key, lo, hi)))

    @command
    def range(
        self,
        low: int,
        high: int,
        with_scores: bool = False,
        desc: bool = False,
        reverse: bool = False,
    ) -> Returns[list[Any]]:
        """Members ranked ``low`` to ``high`` (0-based, both included, negative counting from
        the end, as ZRANGE), lowest score first; counted from the highest score with ``desc``
        or ``reverse`` (ZREVRANGE). Ranks, as upstream walrus: for scores use
        ``range_by_score``. 1 round trip."""
        lo = check_index(self, low, "low")
        hi = check_index(self, high, "high")
        if desc or reverse:
            rows = yield call.zrevrange(self.key, lo, hi, withscores=with_scores)
        else:
            rows = yield call.zrange(self.key, lo, hi, withscores=with_scores)
        return _pairs(rows) if with_scores else list(rows)

    @command
    def range_by_score(
        self,
        low: Any,
        high: Any,
        start: int | None = None,
        num: int | None = None,
        with_scores: bool = False,
        reverse: bool = False,
    ) -> Returns[list[Any]]:
        """Members whose score lies between ``low`` and ``high`` (either order; ``"(x"``
        exclusive, ``"-inf"``/``"+inf"`` unbounded), lowest score first or, with ``reverse``,
        highest first; skipping ``start`` and returning at most ``num`` of them. 1 round trip
        (ZRANGEBYSCORE / ZREVRANGEBYSCORE)."""
        lo, lo_value = self._score_bound(low, "low")
        hi, hi_value = self._score_bound(high, "high")
        if lo_value > hi_value:
            lo, hi = hi, lo
        if start is not None or num is not None:
            start = 0 if start is None else check_index(self, start, "start")
            num = -1 if num is None else check_index(self, num, "num")
        if reverse:
            rows = yield call.zrevrangebyscore(self.key, hi, lo, start, num, withscores=with_scores)
        else:
            rows = yield call.zrangebyscore(self.key, lo, hi, start, num, withscores=with_scores)
        return _pairs(rows) if with_scores else list(rows)

    @command
    def range_by_lex(
        self,
        low: Any,
        high: Any,
        start: int | None = None,
        num: int | None = None,
        reverse: bool = False,
    ) -> Returns[list[Any]]:
        """Members between lex bounds (``-``, ``+``, ``[a``, ``(a``; either order), skipping
        ``start`` and returning at most ``num``; descending with ``reverse``. 1 round trip."""
        lo, hi = self._lex_bounds(low, high)
        if start is not None or num is not None:
            start = 0 if start is None else check_index(self, start, "start")
            num = -1 if num is None else check_index(self, num, "num")
        if reverse:
            return list((yield call.zrevrangebylex(self.key, hi, lo, start, num)))
        return list((yield call.zrangebylex(self.key, lo, hi, start, num)))

    @command
    def as_items(self, decode: bool = False) -> Returns[Pairs]:
        """Every ``(member, score)`` pair by ascending score (member as str with ``decode``).
        1 round trip."""
        rows = _pairs((yield call.zrange(self.key, 0, -1, withscores=True)))
        if decode:
            return [(_decode(m), s) for m, s in rows]
        return rows

    def iterator(self, with_scores: bool = False, reverse: bool = False) -> Iterable[Any]:
        """Every member (``(member, score)`` pairs with ``with_scores``) by ascending score, or
        descending with ``reverse``. 1 round trip (awaitable on an asyncio client)."""
        return self.range(0, -1, with_scores=with_scores, reverse=reverse)

    def search(self, pattern: Any, count: int | None = None) -> Iterator[tuple[Any, float]]:
        """Yield ``(member, score)`` for members matching the glob ``pattern`` (ZSCAN MATCH),
        at most ``count`` of them (an async generator on an asyncio client). 1 round trip per
        ZSCAN page, sent as the iterator is consumed."""
        check_value(self, pattern, "pattern")
        found = self._scan(pattern)
        if count is None:
            return found  # type: ignore[return-value]
        return limited(found, count)  # type: ignore[return-value]

    def _scan(self, match: Any) -> Iterator[tuple[Any, float]] | AsyncIterator[tuple[Any, float]]:
        return pages(self, lambda cursor: self._scan_page(cursor, match))

    @command
    def _scan_page(self, cursor: int, match: Any) -> Returns[tuple[int, Pairs]]:
        cursor, rows = yield call.zscan(self.key, cursor, match=match)
        return cursor, [(member, float(score)) for member, score in rows]

    # -- popping ------------------------------------------------------------------------------

    @command
    def popmin(self, count: int = 1) -> Returns[Pairs]:
        """ZPOPMIN: remove the ``count`` lowest members; ``(member, score)`` pairs lowest
        first (an empty list when empty). 1 round trip."""
        return _pairs((yield call.zpopmin(self.key, self._count(count))))

    @command
    def popmax(self, count: int = 1) -> Returns[Pairs]:
        """ZPOPMAX: remove the ``count`` highest members; ``(member, score)`` pairs highest
        first (an empty list when empty). 1 round trip."""
        return _pairs((yield call.zpopmax(self.key, self._count(count))))

    @command
    def popmin_compat(self, count: int = 1) -> Returns[Pairs]:
        """As ``popmin`` without ZPOPMIN (Redis < 5): ZRANGE + ZREMRANGEBYRANK in one
        MULTI/EXEC. 1 round trip."""
        n = self._count(count)
        replies = yield Batch(
            [
                call.zrange(self.key, 0, n - 1, withscores=True),
                call.zremrangebyrank(self.key, 0, n - 1),
            ]
        )
        return _pairs(replies[0])

    @command
    def popmax_compat(self, count: int = 1) -> Returns[Pairs]:
        """As ``popmax`` without ZPOPMAX (Redis < 5), in one MULTI/EXEC. 1 round trip."""
        n = self._count(count)
        replies = yield Batch(
            [
                call.zrange(self.key, -n, -1, withscores=True),
                call.zremrangebyrank(self.key, -n, -1),
            ]
        )
        rows = _pairs(replies[0])
        rows.reverse()
        return rows

    def _bpop(self, name: str, timeout: float) -> Returns[tuple[Any, float] | None]:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ContainerValueError(
                f"{self!r}: timeout must be a number of seconds >= 0, got {timeout!r}"
            )
        reply = yield getattr(call, name)([self.key], timeout)
        if reply is None:
            return None
        return reply[1], float(reply[2])

    @command
    def bpopmin(self, timeout: float = 0) -> Returns[tuple[Any, float] | None]:
        """BZPOPMIN: remove the lowest member, waiting up to ``timeout`` seconds (0 =
        forever); ``(member, score)`` or None on timeout. 1 round trip."""
        return (yield from self._bpop("bzpopmin", timeout))

    @command
    def bpopmax(self, timeout: float = 0) -> Returns[tuple[Any, float] | None]:
        """BZPOPMAX: as ``bpopmin`` for the highest member. 1 round trip."""
        return (yield from self._bpop("bzpopmax", timeout))

    # -- algebra ------------------------------------------------------------------------------

    @command
    def _store(
        self, command: str, dest: Any, others: list[Container], options: dict[str, Any]
    ) -> Returns[ZSet]:
        # The Container arguments (``others``) are where @command looks for a WRONGTYPE key.
        unknown = set(options) - {"aggregate", "weights"}
        if unknown:
            raise ContainerTypeError(f"{self!r}: unexpected keyword argument(s) {sorted(unknown)}")
        keys = [self.key, *(o.key for o in others)]
        args: list[Any] = [dest, len(keys), *keys]
        weights = options.get("weights")
        if weights is not None:
            if not isinstance(weights, Sequence) or len(weights) != len(keys):
                raise ContainerValueError(
                    f"{self!r}: weights must be a sequence of {len(keys)} numbers"
                )
            args += ["WEIGHTS", *(_number_text(check_score(self, w, "weight")) for w in weights)]
        aggregate = options.get("aggregate")
        if aggregate is not None:
            if not isinstance(aggregate, str) or aggregate.upper() not in ("SUM", "MIN", "MAX"):
                raise ContainerValueError(
                    f"{self!r}: aggregate must be 'SUM', 'MIN' or 'MAX', got {aggregate!r}"
                )
            args += ["AGGREGATE", aggregate.upper()]
        check_same_slot(self.database, [dest, *keys], command)
        yield call.execute_command(command, *args)
        return ZSet(self.database, dest)

    def _dest(self, dest: Any) -> Any:
        if isinstance(dest, Container):
            return dest.key
        if not isinstance(dest, (str, bytes)) or not dest:
            raise ContainerTypeError(
                f"{self!r}: dest must be a key name, got {type(dest).__name__}"
            )
        return dest

    def interstore(self, dest: Any, *others: Any, **kwargs: Any) -> ZSet:
        """Store the intersection with ``others`` (ZSets, Sets or key names) at ``dest``;
        keywords ``aggregate`` ('SUM'/'MIN'/'MAX') and ``weights``. Returns a ZSet for
        ``dest``. 1 round trip (ZINTERSTORE; awaitable on an asyncio client)."""
        dest_key = self._dest(dest)
        return self._store("ZINTERSTORE", dest_key, self._others(others), kwargs)

    def unionstore(self, dest: Any, *others: Any, **kwargs: Any) -> ZSet:
        """Store the union with ``others`` at ``dest`` (keywords as ``interstore``). Returns a
        ZSet for ``dest``. 1 round trip (ZUNIONSTORE; awaitable on an asyncio client)."""
        dest_key = self._dest(dest)
        return self._store("ZUNIONSTORE", dest_key, self._others(others), kwargs)

    def __ior__(self, other: Any) -> ZSet:
        """Union ``other`` into this key (ZUNIONSTORE, scores summed; 1 round trip)."""
        self._sync_only("zs |= other", "await zs.unionstore(zs.key, other)")
        self.unionstore(self.key, other)
        return self

    def __iand__(self, other: Any) -> ZSet:
        """Keep only members also in ``other`` (ZINTERSTORE, scores summed; 1 round trip)."""
        self._sync_only("zs &= other", "await zs.interstore(zs.key, other)")
        self.interstore(self.key, other)
        return self
