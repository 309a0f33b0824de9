"""Multi-value fields: ``SetField``, ``ListField`` and ``SortedSetField``.

When indexable, every distinct value held is indexed (``<prefix>:<field>:<value>`` holds the
pk); with ``unique=True`` a value may be held by one instance only.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ImplementationError, LimpydException
from ..utils import ENCODING, ENCODING_ERRORS
from ._args import as_bool, as_float, as_int, as_ok, float_arg, int_arg, pairs, score_arg
from .base import KeyTTLMixin, RedisField

__all__ = ["HashField", "ListField", "SetField", "SortedSetField"]


def _popped(reply: Any) -> list[tuple[str, float]]:
    """ZPOPMAX/ZPOPMIN replies (flat from a script, pairs from redis-py) as (member, score)."""
    if reply and isinstance(reply[0], (list, tuple)):
        return [(member, float(score)) for member, score in reply]
    return [(reply[i], float(reply[i + 1])) for i in range(0, len(reply or []), 2)]


def _as_list(reply: Any) -> Any:
    return list(reply) if isinstance(reply, (set, list, tuple)) else reply


class _MultiValuesField(RedisField):
    def _creation_items(self, value: Any) -> list[str]:
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self._normalize_value(v) for v in value]
        return [self._normalize_value(value)]

    def sort(self, **options: Any) -> list[Any]:
        """SORT the values (redis-py's options: start, num, by, get, desc, alpha; no store).
        Never cached. 1 round trip (none before the instance is saved)."""
        if "store" in options:
            raise TypeError(f"{self._what()}.sort: store is not supported")
        return self._read("sort", lambda c, k: c.sort(k, **options), empty=[], post=list)

    def _values(self, values: tuple[Any, ...], command: str) -> list[str]:
        if not values:
            raise TypeError(f"{self._what()}.{command}() needs at least one value")
        return [self._normalize_value(v) for v in values]


class SetField(KeyTTLMixin, _MultiValuesField):
    """A Redis set at ``<namespace>:<model>:<pk>:<field>``.

    Getters: scard, sismember, smembers, srandmember. Modifiers: sadd, spop, srem (and
    delete). One round trip each.
    """

    kind = "set"
    proxy_setter = "sadd"
    available_getters = ("scard", "sismember", "smembers", "srandmember", "sscan", "sort")
    available_modifiers = ("delete", "sadd", "spop", "srem")
    no_cache_getters = frozenset({"srandmember", "sscan", "sort"})

    def scard(self) -> int:
        """SCARD: the number of members. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self._read("scard", lambda c, k: c.scard(k), empty=0)

    def sismember(self, value: Any) -> bool:
        """SISMEMBER: True when ``value`` is a member. 1 round trip (none when the instance's cache
        has the answer, or before it is saved)."""
        v = self._normalize_value(value)
        return self._read("sismember", lambda c, k: c.sismember(k, v), (v,), False, as_bool)

    def smembers(self) -> set[str]:
        """SMEMBERS: every member, as a set. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self._read("smembers", lambda c, k: c.smembers(k), empty=set(), post=set)

    def srandmember(self, number: int | None = None) -> Any:
        """SRANDMEMBER: a random member (or a list of ``number`` of them); never cached. 1 round
        trip (none before the instance is saved)."""
        if number is not None:
            number = int_arg(number, "srandmember number")
        empty: Any = None if number is None else []
        return self._read(
            "srandmember", lambda c, k: c.srandmember(k, number), (number,), empty, _as_list
        )

    def sadd(self, *values: Any) -> int:
        """SADD: add ``values``; returns how many were not members yet. 1 round trip (2 with range
        or configured indexes)."""
        vs = self._values(values, "sadd")
        return self._modify("SADD", vs, lambda c, k: c.sadd(k, *vs), as_int)

    def srem(self, *values: Any) -> int:
        """SREM: remove ``values``; returns how many were members. 1 round trip (2 with range or
        configured indexes)."""
        vs = self._values(values, "srem")
        return self._modify("SREM", vs, lambda c, k: c.srem(k, *vs), as_int)

    def spop(self, count: int | None = None) -> Any:
        """SPOP: remove and return a random member (a list of ``count`` with ``count``). 1 round
        trip (2 with range or configured indexes)."""
        if count is None:
            return self._modify("SPOP", [], lambda c, k: c.spop(k))
        n = int_arg(count, "spop count")
        return self._modify("SPOP", [n], lambda c, k: c.spop(k, n), _as_list)

    def sscan(self, match: Any = None, count: Any = None) -> list[str]:
        """SSCAN over the whole set (members matching ``match``); never cached. 1 round trip per
        page of the scan (none before the instance is saved)."""
        return self._read(
            "sscan", lambda c, k: list(c.sscan_iter(k, match=match, count=count)), empty=[]
        )

    def proxy_get(self) -> Any:
        """The members (``smembers()``): 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self.smembers()

    def proxy_set(self, value: Any) -> Any:
        """Add the members of ``value`` (``sadd``): 1 round trip (2 with range or configured
        indexes)."""
        return self.sadd(*self._creation_items(value))


class ListField(KeyTTLMixin, _MultiValuesField):
    """A Redis list at ``<namespace>:<model>:<pk>:<field>``.

    Getters: lindex, llen, lrange. Modifiers: linsert, lpop, lpush, lpushx, lrem, lset, ltrim,
    rpop, rpush, rpushx (and delete). One round trip each.
    """

    kind = "list"
    proxy_setter = "rpush"
    available_getters = (
        "lindex", "llen", "lrange", "lrank", "lcount", "lcontains", "lmembers", "sort",
    )  # fmt: skip
    no_cache_getters = frozenset({"sort"})
    available_modifiers = (
        "delete", "linsert", "lpop", "lpush", "lpushx", "lrem", "lset", "ltrim", "rpop",
        "rpush", "rpushx",
    )  # fmt: skip

    def lindex(self, index: int) -> str | None:
        """LINDEX: the item at ``index``, or None. 1 round trip (none when the instance's cache has
        the answer, or before it is saved)."""
        i = int_arg(index, "lindex index")
        return self._read("lindex", lambda c, k: c.lindex(k, i), (i,))

    def llen(self) -> int:
        """LLEN: the number of items. 1 round trip (none when the instance's cache has the answer,
        or before it is saved)."""
        return self._read("llen", lambda c, k: c.llen(k), empty=0)

    def lrange(self, start: int, end: int) -> list[str]:
        """LRANGE: items from ``start`` to ``end`` (inclusive, negative from the end). 1 round trip
        (none when the instance's cache has the answer, or before it is saved)."""
        s, e = int_arg(start, "lrange start"), int_arg(end, "lrange end")
        return self._read("lrange", lambda c, k: c.lrange(k, s, e), (s, e), [])

    def _push(self, command: str, values: tuple[Any, ...]) -> int:
        vs = self._values(values, command.lower())
        method = command.lower()
        return self._modify(command, vs, lambda c, k: getattr(c, method)(k, *vs), as_int)

    def lpush(self, *values: Any) -> int:
        """LPUSH: add ``values`` at the head; returns the new length. 1 round trip (2 with range
        or configured indexes)."""
        return self._push("LPUSH", values)

    def rpush(self, *values: Any) -> int:
        """RPUSH: add ``values`` at the tail; returns the new length. 1 round trip (2 with range
        or configured indexes)."""
        return self._push("RPUSH", values)

    def lpushx(self, *values: Any) -> int:
        """LPUSHX: LPUSH only when the list exists; returns the new length (0 if none). 1 round
        trip (2 with range or configured indexes)."""
        return self._push("LPUSHX", values)

    def rpushx(self, *values: Any) -> int:
        """RPUSHX: RPUSH only when the list exists; returns the new length (0 if none). 1 round
        trip (2 with range or configured indexes)."""
        return self._push("RPUSHX", values)

    def _pop(self, command: str, count: int | None) -> Any:
        method = command.lower()
        if count is None:
            return self._modify(command, [], lambda c, k: getattr(c, method)(k))
        n = int_arg(count, f"{method} count")
        return self._modify(command, [n], lambda c, k: getattr(c, method)(k, n), _as_list)

    def lpop(self, count: int | None = None) -> Any:
        """LPOP: remove and return the first item (a list of ``count`` with ``count``). 1 round
        trip (2 with range or configured indexes)."""
        return self._pop("LPOP", count)

    def rpop(self, count: int | None = None) -> Any:
        """RPOP: remove and return the last item (a list of ``count`` with ``count``). 1 round trip
        (2 with range or configured indexes)."""
        return self._pop("RPOP", count)

    def lrem(self, count: int, value: Any) -> int:
        """LREM: remove ``count`` occurrences of ``value`` (0: all, <0: from the tail). 1 round
        trip (2 with range or configured indexes)."""
        n = int_arg(count, "lrem count")
        v = self._normalize_value(value)
        return self._modify("LREM", [n, v], lambda c, k: c.lrem(k, n, v), as_int)

    def lset(self, index: int, value: Any) -> bool | None:
        """LSET: replace the item at ``index``; returns True. 1 round trip (2 with range or
        configured indexes)."""
        i = int_arg(index, "lset index")
        v = self._normalize_value(value)
        return self._modify("LSET", [i, v], lambda c, k: c.lset(k, i, v), as_ok)

    def ltrim(self, start: int, end: int) -> bool | None:
        """LTRIM: keep only items from ``start`` to ``end``; returns True. 1 round trip (2 with
        range or configured indexes)."""
        s, e = int_arg(start, "ltrim start"), int_arg(end, "ltrim end")
        return self._modify("LTRIM", [s, e], lambda c, k: c.ltrim(k, s, e), as_ok)

    def linsert(self, where: str, refvalue: Any, value: Any) -> int:
        """LINSERT ``where`` ("before"/"after") ``refvalue``; the new length, -1 if no pivot. 1
        round trip (2 with range or configured indexes)."""
        if not isinstance(where, str) or where.lower() not in ("before", "after"):
            raise ValueError(f"linsert where must be 'before' or 'after', got {where!r}")
        w = where.upper()
        r, v = self._normalize_value(refvalue), self._normalize_value(value)
        return self._modify("LINSERT", [w, r, v], lambda c, k: c.linsert(k, w, r, v), as_int)

    def lmembers(self) -> list[str]:
        """Every value, in order (LRANGE 0 -1). 1 round trip (none when the instance's cache has
        the answer, or before it is saved)."""
        return self.lrange(0, -1)

    def lrank(self, value: Any) -> int | None:
        """The index of the first occurrence of ``value`` (LPOS), or None. 1 round trip (none when
        the instance's cache has the answer, or before it is saved)."""
        v = self._normalize_value(value)
        return self._read("lrank", lambda c, k: c.lpos(k, v), (v,))

    def lcount(self, value: Any) -> int:
        """How many times ``value`` is in the list (LPOS ... COUNT 0). 1 round trip (none when the
        instance's cache has the answer, or before it is saved)."""
        v = self._normalize_value(value)
        return self._read("lcount", lambda c, k: c.lpos(k, v, count=0), (v,), 0, len)

    def lcontains(self, value: Any) -> bool:
        """True when ``value`` is in the list. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self.lrank(value) is not None

    def proxy_get(self) -> Any:
        """The items (``lrange(0, -1)``): 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self.lrange(0, -1)

    def proxy_set(self, value: Any) -> Any:
        """Append the items of ``value`` (``rpush``): 1 round trip (2 with range or configured
        indexes)."""
        return self.rpush(*self._creation_items(value))


class SortedSetField(KeyTTLMixin, _MultiValuesField):
    """A Redis sorted set at ``<namespace>:<model>:<pk>:<field>``.

    Getters: zcard, zcount, zrange, zrangebyscore, zrank, zrevrange, zrevrangebyscore, zrevrank,
    zscore. Modifiers: zadd, zincrby, zrem, zremrangebyrank, zremrangebyscore (and delete).
    ``withscores`` results are lists of ``(member, score)`` tuples.
    """

    kind = "zset"
    proxy_setter = "zadd"
    available_getters = (
        "zcard", "zcount", "zrange", "zrangebyscore", "zrank", "zrevrange", "zrevrangebyscore",
        "zrevrank", "zscore", "zrangebylex", "zrevrangebylex", "zlexcount", "zscan", "zmembers",
        "sort",
    )  # fmt: skip
    available_modifiers = (
        "delete", "zadd", "zincrby", "zrem", "zremrangebyrank", "zremrangebyscore",
        "zremrangebylex", "zpopmax", "zpopmin",
    )  # fmt: skip
    no_cache_getters = frozenset({"zscan", "sort"})

    def _creation_items(self, value: Any) -> list[str]:
        if not isinstance(value, dict):
            raise TypeError(f"{self._what()}: expected a dict of member -> score, got {value!r}")
        items: list[str] = []
        for score, member in self._score_pairs((value,), {}):
            items += [score, member]
        return items

    def _index_values(self, items: list[str]) -> list[str]:
        return list(dict.fromkeys(items[1::2]))

    def _score_pairs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[str, str]]:
        """(score text, member) pairs from ``{member: score}``, ``score, member, ...`` or
        ``member=score`` arguments."""
        found: list[tuple[Any, Any]] = []
        if len(args) == 1 and isinstance(args[0], dict):
            found += [(score, member) for member, score in args[0].items()]
        elif args:
            if len(args) % 2:
                raise TypeError(f"{self._what()}.zadd: expected score, member pairs, got {args!r}")
            found += list(zip(args[0::2], args[1::2], strict=True))
        found += [(score, member) for member, score in kwargs.items()]
        if not found:
            raise TypeError(f"{self._what()}.zadd() needs at least one member and its score")
        return [
            (repr(score_arg(score, self._what())), self._normalize_value(member))
            for score, member in found
        ]

    # -- getters --

    def zcard(self) -> int:
        """ZCARD: the number of members. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self._read("zcard", lambda c, k: c.zcard(k), empty=0)

    def zcount(self, min: Any, max: Any) -> int:  # noqa: A002 - redis-py names
        """ZCOUNT: members with a score between ``min`` and ``max``. 1 round trip (none when the
        instance's cache has the answer, or before it is saved)."""
        return self._read("zcount", lambda c, k: c.zcount(k, min, max), (min, max), 0)

    def zrange(self, start: int, end: int, desc: bool = False, withscores: bool = False) -> Any:
        """ZRANGE by rank (``desc`` for high scores first). 1 round trip (none when the instance's
        cache has the answer, or before it is saved)."""
        s, e = int_arg(start, "zrange start"), int_arg(end, "zrange end")
        return self._read(
            "zrange",
            lambda c, k: c.zrange(k, s, e, desc=desc, withscores=withscores),
            (s, e, bool(desc), bool(withscores)),
            [],
            pairs if withscores else list,
        )

    def zrevrange(self, start: int, end: int, withscores: bool = False) -> Any:
        """ZREVRANGE: by rank, high scores first. 1 round trip (none when the instance's cache has
        the answer, or before it is saved)."""
        s, e = int_arg(start, "zrevrange start"), int_arg(end, "zrevrange end")
        return self._read(
            "zrevrange",
            lambda c, k: c.zrevrange(k, s, e, withscores=withscores),
            (s, e, bool(withscores)),
            [],
            pairs if withscores else list,
        )

    def zrangebyscore(
        self,
        min: Any,  # noqa: A002
        max: Any,  # noqa: A002
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
    ) -> Any:
        """ZRANGEBYSCORE between ``min`` and ``max`` (optionally paged by start/num). 1 round trip
        (none when the instance's cache has the answer, or before it is saved)."""
        return self._read(
            "zrangebyscore",
            lambda c, k: c.zrangebyscore(k, min, max, start, num, withscores=withscores),
            (min, max, start, num, bool(withscores)),
            [],
            pairs if withscores else list,
        )

    def zrevrangebyscore(
        self,
        max: Any,  # noqa: A002
        min: Any,  # noqa: A002
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
    ) -> Any:
        """ZREVRANGEBYSCORE from ``max`` down to ``min``. 1 round trip (none when the instance's
        cache has the answer, or before it is saved)."""
        return self._read(
            "zrevrangebyscore",
            lambda c, k: c.zrevrangebyscore(k, max, min, start, num, withscores=withscores),
            (max, min, start, num, bool(withscores)),
            [],
            pairs if withscores else list,
        )

    def zrank(self, value: Any) -> int | None:
        """ZRANK: the rank of ``value`` (low scores first), or None. 1 round trip (none when the
        instance's cache has the answer, or before it is saved)."""
        v = self._normalize_value(value)
        return self._read("zrank", lambda c, k: c.zrank(k, v), (v,))

    def zrevrank(self, value: Any) -> int | None:
        """ZREVRANK: the rank of ``value`` (high scores first), or None. 1 round trip (none when
        the instance's cache has the answer, or before it is saved)."""
        v = self._normalize_value(value)
        return self._read("zrevrank", lambda c, k: c.zrevrank(k, v), (v,))

    def zscore(self, value: Any) -> float | None:
        """ZSCORE: the score of ``value``, or None. 1 round trip (none when the instance's cache
        has the answer, or before it is saved)."""
        v = self._normalize_value(value)
        return self._read("zscore", lambda c, k: c.zscore(k, v), (v,))

    # -- modifiers --

    def zadd(self, *args: Any, **kwargs: Any) -> int:
        """ZADD members with scores; returns how many members were new (added or changed
        with ``ch=True``).

        Accepts ``zadd({member: score}[, ch])``, ``zadd(mapping={...}[, ch=True])``,
        ``zadd(score, member, ...)`` or ``zadd(member=score, ...[, ch=True])``. Other ZADD
        flags (nx, xx, incr) raise ``LimpydException``, before anything is sent.
        1 round trip (2 with range or configured indexes).
        """
        ch = bool(kwargs.pop("ch", False)) if "ch" in kwargs else None
        for flag in ("nx", "xx", "incr"):
            if flag in kwargs:
                raise LimpydException(f"{self._what()}.zadd: only the ch flag is accepted")
        if "mapping" in kwargs:
            mapping_arg = kwargs.pop("mapping")
            if kwargs:
                raise TypeError(f"{self._what()}.zadd: mapping= excludes member=score arguments")
            if args:
                raise LimpydException(f"{self._what()}.zadd: mapping given twice")
            args = (mapping_arg,)
        if args and isinstance(args[0], dict):
            if len(args) > 2 or (len(args) == 2 and ch is not None):
                raise LimpydException(
                    f"{self._what()}.zadd: expected a mapping and at most the ch flag"
                )
            if len(args) == 2:
                ch = bool(args[1])
            args = args[:1]
        found = self._score_pairs(args, kwargs)
        raw = [item for pair in found for item in pair]
        mapping = {member: float(score) for score, member in found}
        flags = ["CH"] if ch else []
        return self._modify(
            "ZADD", [*flags, *raw], lambda c, k: c.zadd(k, mapping, ch=bool(ch)), as_int
        )

    def zincrby(self, value: Any, amount: Any = 1) -> float:
        """ZINCRBY: add ``amount`` to the score of ``value``; returns the new score.

        redis-limpyd 2.x's order, ``zincrby(amount, value)``, is accepted too: a first
        argument that is an int or float (and a second one given) is the amount.
        1 round trip (2 with range or configured indexes).
        """
        if isinstance(value, (int, float)) and not isinstance(value, bool) and amount != 1:
            value, amount = amount, value
        v = self._normalize_value(value)
        a = score_arg(amount, f"{self._what()}.zincrby amount")
        return self._modify("ZINCRBY", [repr(a), v], lambda c, k: c.zincrby(k, a, v), as_float)

    def zrem(self, *values: Any) -> int:
        """ZREM: remove ``values``; returns how many were members. 1 round trip (2 with range or
        configured indexes)."""
        vs = self._values(values, "zrem")
        return self._modify("ZREM", vs, lambda c, k: c.zrem(k, *vs), as_int)

    def zremrangebyrank(self, start: int, end: int) -> int:
        """ZREMRANGEBYRANK: remove members ranked ``start`` to ``end``. 1 round trip (2 with range
        or configured indexes)."""
        s, e = int_arg(start, "zremrangebyrank start"), int_arg(end, "zremrangebyrank end")
        return self._modify(
            "ZREMRANGEBYRANK", [s, e], lambda c, k: c.zremrangebyrank(k, s, e), as_int
        )

    def zremrangebyscore(self, min: Any, max: Any) -> int:  # noqa: A002
        """ZREMRANGEBYSCORE: remove members scored between ``min`` and ``max``. 1 round trip (2
        with range or configured indexes)."""
        return self._modify(
            "ZREMRANGEBYSCORE", [min, max], lambda c, k: c.zremrangebyscore(k, min, max), as_int
        )

    def zmembers(self) -> list[str]:
        """Every member, low scores first (ZRANGE 0 -1). 1 round trip (none when the instance's
        cache has the answer, or before it is saved)."""
        members: list[str] = self.zrange(0, -1)
        return members

    def zrangebylex(self, min: Any, max: Any, start: Any = None, num: Any = None) -> list[str]:  # noqa: A002
        """ZRANGEBYLEX between ``min`` and ``max`` (``[a``, ``(a``, ``-``, ``+``). 1 round trip
        (none when the instance's cache has the answer, or before it is saved)."""
        return self._read(
            "zrangebylex", lambda c, k: c.zrangebylex(k, min, max, start, num),
            (min, max, start, num), [], list,
        )  # fmt: skip

    def zrevrangebylex(self, max: Any, min: Any, start: Any = None, num: Any = None) -> list[str]:  # noqa: A002
        """ZREVRANGEBYLEX from ``max`` down to ``min``. 1 round trip (none when the instance's
        cache has the answer, or before it is saved)."""
        return self._read(
            "zrevrangebylex", lambda c, k: c.zrevrangebylex(k, max, min, start, num),
            (max, min, start, num), [], list,
        )  # fmt: skip

    def zlexcount(self, min: Any, max: Any) -> int:  # noqa: A002
        """ZLEXCOUNT between ``min`` and ``max``. 1 round trip (none when the instance's cache has
        the answer, or before it is saved)."""
        return self._read("zlexcount", lambda c, k: c.zlexcount(k, min, max), (min, max), 0)

    def zscan(self, match: Any = None, count: Any = None) -> list[tuple[str, float]]:
        """ZSCAN over the whole sorted set: ``(member, score)`` pairs; never cached. 1 round trip
        per page of the scan (none before the instance is saved)."""
        return self._read(
            "zscan", lambda c, k: list(c.zscan_iter(k, match=match, count=count)), empty=[]
        )

    def zremrangebylex(self, min: Any, max: Any) -> int:  # noqa: A002
        """ZREMRANGEBYLEX: remove members between ``min`` and ``max``. 1 round trip (2 with range
        or configured indexes)."""
        return self._modify(
            "ZREMRANGEBYLEX", [min, max], lambda c, k: c.zremrangebylex(k, min, max), as_int
        )

    def zpopmax(self, count: Any = None) -> list[tuple[str, float]]:
        """ZPOPMAX: remove and return the ``count`` (default 1) highest members with scores. 1
        round trip (2 with range or configured indexes)."""
        n = [] if count is None else [int_arg(count, "zpopmax count")]
        return self._modify("ZPOPMAX", n, lambda c, k: c.zpopmax(k, *n), _popped)

    def zpopmin(self, count: Any = None) -> list[tuple[str, float]]:
        """ZPOPMIN: remove and return the ``count`` (default 1) lowest members with scores. 1 round
        trip (2 with range or configured indexes)."""
        n = [] if count is None else [int_arg(count, "zpopmin count")]
        return self._modify("ZPOPMIN", n, lambda c, k: c.zpopmin(k, *n), _popped)

    def proxy_get(self) -> Any:
        """The members (``zrange(0, -1)``): 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self.zrange(0, -1)

    def proxy_set(self, value: Any) -> Any:
        """Add ``value``'s members with their scores (``zadd``): 1 round trip (2 with range or
        configured indexes)."""
        return self.zadd(value)


class HashField(KeyTTLMixin, RedisField):
    """A Redis hash at ``<namespace>:<model>:<pk>:<field>`` (redis-limpyd 2.x): many
    ``key -> value`` entries in one field.

    Getters: hget, hgetall, hmget, hkeys, hvals, hlen, hexists, hstrlen. Modifiers: hset,
    hsetnx, hmset, hdel, hincrby, hincrbyfloat (and delete). When indexable, each entry is
    indexed by key and value (``collection(<field>__<key>=<value>)``); ``unique`` is refused.
    """

    kind = "hashfield"
    proxy_setter = "hmset"
    available_getters = (
        "hget", "hgetall", "hmget", "hkeys", "hvals", "hlen", "hexists", "hstrlen", "hscan",
    )  # fmt: skip
    no_cache_getters = frozenset({"hscan"})
    available_modifiers = (
        "delete", "hdel", "hmset", "hsetnx", "hset", "hincrby", "hincrbyfloat",
    )  # fmt: skip

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("unique"):
            raise ImplementationError("HashField cannot be unique")
        super().__init__(**kwargs)

    def _creation_items(self, value: Any) -> list[str]:
        if not isinstance(value, dict):
            raise TypeError(f"{self._what()}: expected a dict of key -> value, got {value!r}")
        items: list[str] = []
        for key, item in value.items():
            items += [self._normalize_value(key), self._normalize_value(item)]
        return items

    def _creation_entries(self, items: list[str]) -> list[str]:
        return list(
            dict.fromkeys(
                f"{len(k.encode(ENCODING, ENCODING_ERRORS))}:{k}{v}"
                for k, v in zip(items[0::2], items[1::2], strict=True)
            )
        )

    def _index_args(self, entry: str) -> tuple[str, ...]:
        size, _, rest = entry.partition(":")
        raw = rest.encode(ENCODING, ENCODING_ERRORS)
        cut = int(size)
        return (
            raw[:cut].decode(ENCODING, ENCODING_ERRORS),
            raw[cut:].decode(ENCODING, ENCODING_ERRORS),
        )

    # -- getters --

    def hget(self, key: Any) -> str | None:
        """HGET: the value of ``key``, or None. 1 round trip (none when the instance's cache has
        the answer, or before it is saved)."""
        k = self._normalize_value(key)
        return self._read("hget", lambda c, rk: c.hget(rk, k), (k,))

    def hmget(self, *keys: Any) -> list[Any]:
        """HMGET: the values of ``keys`` (None for missing ones). 1 round trip (none when the
        instance's cache has the answer, or before it is saved)."""
        if len(keys) == 1 and isinstance(keys[0], (list, tuple)):
            keys = tuple(keys[0])
        ks = [self._normalize_value(k) for k in keys]
        return self._read("hmget", lambda c, rk: c.hmget(rk, ks), tuple(ks), [None] * len(ks), list)

    def hgetall(self) -> dict[str, str]:
        """HGETALL: every entry, as a dict. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self._read("hgetall", lambda c, rk: c.hgetall(rk), empty={}, post=dict)

    def hkeys(self) -> list[str]:
        """HKEYS: every key. 1 round trip (none when the instance's cache has the answer, or before
        it is saved)."""
        return self._read("hkeys", lambda c, rk: c.hkeys(rk), empty=[], post=list)

    def hvals(self) -> list[str]:
        """HVALS: every value. 1 round trip (none when the instance's cache has the answer, or
        before it is saved)."""
        return self._read("hvals", lambda c, rk: c.hvals(rk), empty=[], post=list)

    def hlen(self) -> int:
        """HLEN: the number of entries. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self._read("hlen", lambda c, rk: c.hlen(rk), empty=0)

    def hexists(self, key: Any) -> bool:
        """HEXISTS: True when ``key`` has a value. 1 round trip (none when the instance's cache has
        the answer, or before it is saved)."""
        k = self._normalize_value(key)
        return self._read("hexists", lambda c, rk: c.hexists(rk, k), (k,), False, as_bool)

    def hstrlen(self, key: Any) -> int:
        """HSTRLEN: the length of the value of ``key``. 1 round trip (none when the instance's
        cache has the answer, or before it is saved)."""
        k = self._normalize_value(key)
        return self._read("hstrlen", lambda c, rk: c.hstrlen(rk, k), (k,), 0)

    # -- modifiers --

    def hset(self, key: Any, value: Any) -> int:
        """HSET: store ``value`` at ``key``; 1 when the key is new. 1 round trip (2 with range or
        configured indexes)."""
        k, v = self._normalize_value(key), self._normalize_value(value)
        return self._modify("HSET", [k, v], lambda c, rk: c.hset(rk, k, v), as_int)

    def hsetnx(self, key: Any, value: Any) -> int:
        """HSETNX: store ``value`` at ``key`` only when it has none; 1 when stored. 1 round trip (2
        with range or configured indexes)."""
        k, v = self._normalize_value(key), self._normalize_value(value)
        return self._modify("HSETNX", [k, v], lambda c, rk: c.hsetnx(rk, k, v), as_int)

    def hmset(self, *args: Any, **kwargs: Any) -> bool:
        """Store several entries: ``hmset({key: value})`` or ``hmset(key=value, ...)``. 1 round
        trip (2 with range or configured indexes)."""
        mapping: dict[Any, Any] = {}
        for arg in args:
            if not isinstance(arg, dict):
                raise TypeError(f"{self._what()}.hmset: expected a dict, got {arg!r}")
            mapping.update(arg)
        mapping.update(kwargs)
        if not mapping:
            raise TypeError(f"{self._what()}.hmset() needs at least one key=value")
        items = self._creation_items(mapping)
        pairs = dict(zip(items[0::2], items[1::2], strict=True))
        self._modify("HSET", items, lambda c, rk: c.hset(rk, mapping=pairs), as_int)
        return True

    def hdel(self, *keys: Any) -> int:
        """HDEL: remove ``keys``; returns how many existed. 1 round trip (2 with range or configured
        indexes)."""
        ks = [self._normalize_value(k) for k in keys]
        if not ks:
            raise TypeError(f"{self._what()}.hdel() needs at least one key")
        return self._modify("HDEL", ks, lambda c, rk: c.hdel(rk, *ks), as_int)

    def hincrby(self, key: Any, amount: int = 1) -> int:
        """HINCRBY: add ``amount`` to the value of ``key``; returns the new value. 1 round trip (2
        with range or configured indexes)."""
        k, a = self._normalize_value(key), int_arg(amount, "hincrby amount")
        return self._modify("HINCRBY", [k, a], lambda c, rk: c.hincrby(rk, k, a), as_int)

    def hincrbyfloat(self, key: Any, amount: float = 1.0) -> float:
        """HINCRBYFLOAT: add ``amount`` to the value of ``key``; returns the new value. 1 round
        trip (2 with range or configured indexes)."""
        k, a = self._normalize_value(key), float_arg(amount, "hincrbyfloat amount")
        return self._modify(
            "HINCRBYFLOAT", [k, a], lambda c, rk: c.hincrbyfloat(rk, k, float(a)), as_float
        )

    def hscan(self, match: Any = None, count: Any = None) -> list[tuple[str, str]]:
        """HSCAN over the whole hash: ``(key, value)`` pairs; never cached. 1 round trip per page
        of the scan (none before the instance is saved)."""
        return self._read(
            "hscan", lambda c, k: list(c.hscan_iter(k, match=match, count=count)), empty=[]
        )

    def proxy_get(self) -> Any:
        """Every entry (``hgetall()``): 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self.hgetall()

    def proxy_set(self, value: Any) -> Any:
        """Store ``value``'s entries (``hmset``): 1 round trip (2 with range or configured
        indexes)."""
        return self.hmset(value)
