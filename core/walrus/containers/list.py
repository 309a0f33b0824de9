"""``List``: a Redis list with a Python list-like interface."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast, overload

from redis.exceptions import ResponseError

from ..calls import Batch, call
from ..utils import decode as _decode
from .base import Container, Sortable
from .errors import (
    ContainerIndexError,
    ContainerTypeError,
    ContainerValueError,
    check_index,
    check_value,
    check_values,
)
from .running import Returns, command, snapshot

if TYPE_CHECKING:  # pragma: no cover
    from ..asyncio.cluster import AsyncClusterDatabase
    from ..asyncio.database import AsyncDatabase
    from ..asyncio.protocols import AsyncList
    from ..database import Database

__all__ = ["List", "slice_to_range"]

# Marks the element to delete by index; random per call so it never equals a stored value.
_SENTINEL_PREFIX = b"\x00walrus:deleted:"


def slice_to_range(container: Container, item: slice) -> tuple[int, int] | None:
    """Turn a step-1 Python slice into inclusive ``(start, end)`` for LRANGE-like commands
    (negative positions count from the end, as both Python and Redis do). ``None`` means
    the range is empty whatever the length (``stop == 0``). No Redis work."""
    start = 0 if item.start is None else check_index(container, item.start, "slice start")
    if item.stop is None:
        return start, -1
    stop = check_index(container, item.stop, "slice stop")
    if stop == 0:
        return None
    return start, stop - 1


def _trim_range(container: Container, item: slice) -> tuple[int, int] | None:
    """The LTRIM range of ``del lst[a:b]``, as upstream walrus trims: a positive stop is
    exclusive, a negative stop is inclusive (``del lst[1:-1]`` keeps item 1 to the last)."""
    if item.stop is not None and check_index(container, item.stop, "slice stop") < 0:
        start = 0 if item.start is None else check_index(container, item.start, "slice start")
        return start, int(item.stop)
    return slice_to_range(container, item)


def slice_step(container: Container, item: slice) -> int:
    """The slice's step as an int (1 when omitted); zero is a ValueError, as in Python."""
    if item.step is None:
        return 1
    step = check_index(container, item.step, "slice step")
    if step == 0:
        raise ContainerValueError(f"{container!r}: slice step cannot be zero")
    return step


def _check_iterable(container: Container, values: Any, what: str) -> list[Any]:
    # A str is iterable, but extend("abc") adding three letters is almost always a bug.
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ContainerTypeError(
            f"{container!r}: {what} expects an iterable of values, got {type(values).__name__}"
        )
    items = list(values)
    check_values(container, items)
    return items


class List(Sortable, Container):
    """A Redis list. Values come back as bytes (``as_list(decode=True)`` for str).

    Each method is one round trip.
    """

    redis_type = "list"
    accepted_types: tuple[str, ...] = ("list",)

    # The client decides at runtime (``is_async_client``: a coroutine execute_command): on
    # walrus's asyncio clients the same code returns a coroutine of the container, typed
    # with its protocol. Not any ``redis.asyncio.Redis``: its Pipeline subclass runs sync.
    @overload
    @classmethod
    def from_list(
        cls, database: Database, key: Any, data: Iterable[Any], clear: bool = False
    ) -> List: ...
    @overload
    @classmethod
    def from_list(
        cls,
        database: AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Iterable[Any],
        clear: bool = False,
    ) -> Coroutine[Any, Any, AsyncList]: ...
    @classmethod
    def from_list(
        cls,
        database: Database | AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Iterable[Any],
        clear: bool = False,
    ) -> List | Coroutine[Any, Any, AsyncList]:
        """Create a List at ``key`` from ``data`` (appended; ``clear`` replaces the old content).
        One MULTI/EXEC round trip (on an asyncio client: ``await List.from_list(...)``)."""
        lst = cls(cast("Database", database), key)
        values = _check_iterable(lst, data, "from_list")
        return lst._fill_with(clear, call.rpush(key, *values) if values else None)

    # -- reading ----------------------------------------------------------------------------

    @command
    def __getitem__(self, item: int | slice) -> Returns[Any]:
        """``lst[i]`` (IndexError when out of range) or ``lst[a:b:c]`` (a list). 1 round trip."""
        if isinstance(item, slice):
            step = slice_step(self, item)
            if step != 1:
                return (yield call.lrange(self.key, 0, -1))[item]
            bounds = slice_to_range(self, item)
            if bounds is None:
                return []
            return (yield call.lrange(self.key, bounds[0], bounds[1]))
        index = check_index(self, item, "List index")
        # None when out of range, as upstream (LINDEX's reply): no stored item is None.
        return (yield call.lindex(self.key, index))

    def __len__(self) -> int:
        """LLEN, 1 round trip."""
        self._sync_only("len()", "await lst.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """The number of items (LLEN; ``len(lst)``). 1 round trip."""
        return int((yield call.llen(self.key)))

    def __contains__(self, value: Any) -> bool:
        """LPOS, 1 round trip."""
        self._sync_only("in", "await lst.contains(value)")
        return self.contains(value)

    @command
    def contains(self, value: Any) -> Returns[bool]:
        """True when an item equals ``value`` (LPOS; ``value in lst``). 1 round trip."""
        check_value(self, value)
        return (yield call.lpos(self.key, value)) is not None

    def _iterate(self) -> Iterator[Any] | AsyncIterator[Any]:
        """A snapshot of the items (one LRANGE, 1 round trip)."""
        return snapshot(self, self.as_list)

    @command
    def as_list(self, decode: bool = False) -> Returns[list[Any]]:
        """All items, as bytes or (``decode=True``) str. 1 round trip."""
        items = yield call.lrange(self.key, 0, -1)
        if decode:
            return [_decode(v) for v in items]
        return list(items)

    # -- writing ----------------------------------------------------------------------------

    def __setitem__(self, idx: int, value: Any) -> None:
        """LSET; IndexError when ``idx`` is out of range. 1 round trip."""
        self._sync_only("lst[i] = value", "await lst.set(i, value)")
        self.set(idx, value)

    @command
    def set(self, idx: int, value: Any) -> Returns[None]:
        """LSET (``lst[i] = value``); IndexError when ``idx`` is out of range. 1 round trip."""
        if isinstance(idx, slice):
            raise ContainerTypeError(f"{self!r}: slice assignment is not supported")
        index = check_index(self, idx, "List index")
        check_value(self, value)
        try:
            yield call.lset(self.key, index, value)
        except ResponseError as exc:
            message = str(exc)
            if "out of range" in message or "no such key" in message:
                raise ContainerIndexError(f"{self!r}: list index {index} out of range") from None
            raise

    def __delitem__(self, item: Any) -> None:
        """``lst.delete(item)``: see there. 1 round trip."""
        self._sync_only("del lst[...]", "await lst.delete(...)")
        self.delete(item)

    @command
    def delete(self, item: Any) -> Returns[None]:
        """``del lst[i]`` removes the item at index ``i`` (nothing when out of range, as
        upstream);
        ``del lst[a:b]`` trims the list to ONLY that range (as upstream walrus documents);
        ``del lst['value']`` removes every item equal to the value. 1 round trip."""
        if isinstance(item, slice):
            if slice_step(self, item) != 1:
                raise ContainerValueError(f"{self!r}: del with a slice step is not supported")
            bounds = _trim_range(self, item)
            start, end = bounds if bounds is not None else (1, 0)  # 1..0 keeps nothing
            yield call.ltrim(self.key, start, end)
            return
        if isinstance(item, (str, bytes, float)):
            yield call.lrem(self.key, 0, item)
            return
        if not hasattr(type(item), "__index__"):
            raise ContainerTypeError(
                f"{self!r}: del expects an int index, a slice or a str/bytes value, "
                f"got {type(item).__name__}"
            )
        index = check_index(self, item, "List index")
        # Mark the item with a unique sentinel then remove it, in one MULTI/EXEC, so no
        # other client can observe or disturb the marked list.
        sentinel = _SENTINEL_PREFIX + os.urandom(12)
        replies = yield Batch(
            [call.lset(self.key, index, sentinel), call.lrem(self.key, 1, sentinel)],
            raise_on_error=False,
        )
        if isinstance(replies[0], ResponseError):
            message = str(replies[0])
            if "out of range" in message or "no such key" in message:
                return  # nothing at that index: nothing to delete
            raise replies[0]

    @command
    def append(self, value: Any) -> Returns[int]:
        """RPUSH one value; returns the new length. 1 round trip."""
        check_value(self, value)
        return int((yield call.rpush(self.key, value)))

    @command
    def prepend(self, value: Any) -> Returns[int]:
        """LPUSH one value; returns the new length. 1 round trip."""
        check_value(self, value)
        return int((yield call.lpush(self.key, value)))

    @command
    def extend(self, value: Iterable[Any]) -> Returns[int]:
        """RPUSH every value of an iterable; returns the new length. 1 round trip."""
        values = _check_iterable(self, value, "extend")
        if not values:
            return int((yield call.llen(self.key)))
        return int((yield call.rpush(self.key, *values)))

    @command
    def insert(self, value: Any, pivot: Any, where: str) -> Returns[int]:
        """LINSERT ``value`` ``where`` ('before' or 'after') the first item equal to
        ``pivot``; returns the new length, -1 when ``pivot`` is missing, 0 when the list does
        not exist. 1 round trip."""
        if not isinstance(where, str) or where.upper() not in ("BEFORE", "AFTER"):
            raise ContainerValueError(f"{self!r}: where must be 'before' or 'after', got {where!r}")
        check_value(self, value)
        check_value(self, pivot, "pivot")
        return int((yield call.linsert(self.key, where.upper(), pivot, value)))

    @command
    def insert_before(self, value: Any, key: Any) -> Returns[int]:
        """LINSERT BEFORE the first item equal to ``key``; returns the new length, -1
        when ``key`` is not in the list, 0 when the list does not exist. 1 round trip."""
        check_value(self, value)
        check_value(self, key, "pivot")
        return int((yield call.linsert(self.key, "BEFORE", key, value)))

    @command
    def insert_after(self, value: Any, key: Any) -> Returns[int]:
        """LINSERT AFTER the first item equal to ``key``; returns the new length, -1
        when ``key`` is not in the list, 0 when the list does not exist. 1 round trip."""
        check_value(self, value)
        check_value(self, key, "pivot")
        return int((yield call.linsert(self.key, "AFTER", key, value)))

    @command
    def popleft(self) -> Returns[Any]:
        """LPOP: the first item, or None when empty. 1 round trip."""
        return (yield call.lpop(self.key))

    @command
    def popright(self) -> Returns[Any]:
        """RPOP: the last item, or None when empty. 1 round trip."""
        return (yield call.rpop(self.key))

    pop = popright

    @command
    def move_tail(self, key: Any) -> Returns[Any]:
        """RPOPLPUSH: move the last item to the head of list ``key``; the item, or None when
        this list is empty. 1 round trip."""
        check_value(self, key, "key")
        return (yield call.rpoplpush(self.key, key))

    @command
    def bmove_tail(self, key: Any, timeout: float = 0) -> Returns[Any]:
        """BRPOPLPUSH: as ``move_tail``, waiting up to ``timeout`` seconds (0 = forever);
        None on timeout. 1 round trip."""
        check_value(self, key, "key")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ContainerValueError(
                f"{self!r}: timeout must be a number of seconds >= 0, got {timeout!r}"
            )
        return (yield call.brpoplpush(self.key, key, timeout))

    @command
    def bpopleft(self, timeout: float = 0) -> Returns[Any]:
        """BLPOP: the first item, waiting up to ``timeout`` seconds (0 = forever); None on
        timeout. 1 round trip."""
        reply = yield call.blpop([self.key], timeout)
        return None if reply is None else reply[1]

    @command
    def bpopright(self, timeout: float = 0) -> Returns[Any]:
        """BRPOP: the last item, waiting up to ``timeout`` seconds (0 = forever); None on
        timeout. 1 round trip."""
        reply = yield call.brpop([self.key], timeout)
        return None if reply is None else reply[1]
