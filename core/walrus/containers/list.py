"""``List``: a Redis list with a Python list-like interface."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from ..utils import decode as _decode
from .base import Container, Sortable
from .errors import (
    ContainerIndexError,
    ContainerTypeError,
    ContainerValueError,
    check_index,
    check_value,
    check_values,
    guard,
)

if TYPE_CHECKING:  # pragma: no cover
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

    @classmethod
    def from_list(
        cls, database: Database, key: Any, data: Iterable[Any], clear: bool = False
    ) -> List:
        """Create a List at ``key`` from ``data`` (appended; ``clear`` replaces the old content).
        One MULTI/EXEC round trip."""
        lst = cls(database, key)
        values = _check_iterable(lst, data, "from_list")
        pipe = database.pipeline(transaction=True)
        if clear:
            pipe.delete(key)
        if values:
            pipe.rpush(key, *values)
        if len(pipe):  # len(): cluster pipelines queue elsewhere than command_stack
            lst._run_pipe(pipe)
        return lst

    @guard
    def _run_pipe(self, pipe: Any) -> list[Any]:
        return list(pipe.execute())

    # -- reading ----------------------------------------------------------------------------

    @guard
    def __getitem__(self, item: int | slice) -> Any:
        """``lst[i]`` (IndexError when out of range) or ``lst[a:b:c]`` (a list). 1 round trip."""
        if isinstance(item, slice):
            step = slice_step(self, item)
            if step != 1:
                return self.database.lrange(self.key, 0, -1)[item]
            bounds = slice_to_range(self, item)
            if bounds is None:
                return []
            return self.database.lrange(self.key, bounds[0], bounds[1])
        index = check_index(self, item, "List index")
        # None when out of range, as upstream (LINDEX's reply): no stored item is None.
        return self.database.lindex(self.key, index)

    @guard
    def __len__(self) -> int:
        """LLEN, 1 round trip."""
        return int(self.database.llen(self.key))

    @guard
    def __contains__(self, value: Any) -> bool:
        """LPOS, 1 round trip."""
        check_value(self, value)
        return self.database.lpos(self.key, value) is not None

    def __iter__(self) -> Iterator[Any]:
        """Iterate over a snapshot of the items (one LRANGE, 1 round trip)."""
        return iter(self.as_list())

    @guard
    def as_list(self, decode: bool = False) -> list[Any]:
        """All items, as bytes or (``decode=True``) str. 1 round trip."""
        items = self.database.lrange(self.key, 0, -1)
        if decode:
            return [_decode(v) for v in items]
        return list(items)

    # -- writing ----------------------------------------------------------------------------

    @guard
    def __setitem__(self, idx: int, value: Any) -> None:
        """LSET; IndexError when ``idx`` is out of range. 1 round trip."""
        if isinstance(idx, slice):
            raise ContainerTypeError(f"{self!r}: slice assignment is not supported")
        index = check_index(self, idx, "List index")
        check_value(self, value)
        try:
            self.database.lset(self.key, index, value)
        except ResponseError as exc:
            message = str(exc)
            if "out of range" in message or "no such key" in message:
                raise ContainerIndexError(f"{self!r}: list index {index} out of range") from None
            raise

    @guard
    def __delitem__(self, item: Any) -> None:
        """``del lst[i]`` removes the item at index ``i`` (nothing when out of range, as
        upstream);
        ``del lst[a:b]`` trims the list to ONLY that range (as upstream walrus documents);
        ``del lst['value']`` removes every item equal to the value. 1 round trip."""
        if isinstance(item, slice):
            if slice_step(self, item) != 1:
                raise ContainerValueError(f"{self!r}: del with a slice step is not supported")
            bounds = _trim_range(self, item)
            start, end = bounds if bounds is not None else (1, 0)  # 1..0 keeps nothing
            self.database.ltrim(self.key, start, end)
            return
        if isinstance(item, (str, bytes, float)):
            self.database.lrem(self.key, 0, item)  # type: ignore[arg-type]
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
        pipe = self.database.pipeline(transaction=True)
        pipe.lset(self.key, index, sentinel)
        pipe.lrem(self.key, 1, sentinel)
        replies = pipe.execute(raise_on_error=False)
        if isinstance(replies[0], ResponseError):
            message = str(replies[0])
            if "out of range" in message or "no such key" in message:
                return  # nothing at that index: nothing to delete
            raise replies[0]

    @guard
    def append(self, value: Any) -> int:
        """RPUSH one value; returns the new length. 1 round trip."""
        check_value(self, value)
        return int(self.database.rpush(self.key, value))

    @guard
    def prepend(self, value: Any) -> int:
        """LPUSH one value; returns the new length. 1 round trip."""
        check_value(self, value)
        return int(self.database.lpush(self.key, value))

    @guard
    def extend(self, value: Iterable[Any]) -> int:
        """RPUSH every value of an iterable; returns the new length. 1 round trip."""
        values = _check_iterable(self, value, "extend")
        if not values:
            return int(self.database.llen(self.key))
        return int(self.database.rpush(self.key, *values))

    @guard
    def insert(self, value: Any, pivot: Any, where: str) -> int:
        """LINSERT ``value`` ``where`` ('before' or 'after') the first item equal to
        ``pivot``; returns the new length, -1 when ``pivot`` is missing, 0 when the list does
        not exist. 1 round trip."""
        if not isinstance(where, str) or where.upper() not in ("BEFORE", "AFTER"):
            raise ContainerValueError(f"{self!r}: where must be 'before' or 'after', got {where!r}")
        check_value(self, value)
        check_value(self, pivot, "pivot")
        return int(self.database.linsert(self.key, where.upper(), pivot, value))

    @guard
    def insert_before(self, value: Any, key: Any) -> int:
        """LINSERT BEFORE the first item equal to ``key``; returns the new length, -1
        when ``key`` is not in the list, 0 when the list does not exist. 1 round trip."""
        check_value(self, value)
        check_value(self, key, "pivot")
        return int(self.database.linsert(self.key, "BEFORE", key, value))

    @guard
    def insert_after(self, value: Any, key: Any) -> int:
        """LINSERT AFTER the first item equal to ``key``; returns the new length, -1
        when ``key`` is not in the list, 0 when the list does not exist. 1 round trip."""
        check_value(self, value)
        check_value(self, key, "pivot")
        return int(self.database.linsert(self.key, "AFTER", key, value))

    @guard
    def popleft(self) -> Any:
        """LPOP: the first item, or None when empty. 1 round trip."""
        return self.database.lpop(self.key)

    @guard
    def popright(self) -> Any:
        """RPOP: the last item, or None when empty. 1 round trip."""
        return self.database.rpop(self.key)

    pop = popright

    @guard
    def move_tail(self, key: Any) -> Any:
        """RPOPLPUSH: move the last item to the head of list ``key``; the item, or None when
        this list is empty. 1 round trip."""
        check_value(self, key, "key")
        return self.database.rpoplpush(self.key, key)

    @guard
    def bmove_tail(self, key: Any, timeout: float = 0) -> Any:
        """BRPOPLPUSH: as ``move_tail``, waiting up to ``timeout`` seconds (0 = forever);
        None on timeout. 1 round trip."""
        check_value(self, key, "key")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ContainerValueError(
                f"{self!r}: timeout must be a number of seconds >= 0, got {timeout!r}"
            )
        return self.database.brpoplpush(self.key, key, timeout)

    @guard
    def bpopleft(self, timeout: float = 0) -> Any:
        """BLPOP: the first item, waiting up to ``timeout`` seconds (0 = forever); None on
        timeout. 1 round trip."""
        reply = self.database.blpop([self.key], timeout)
        return None if reply is None else reply[1]

    @guard
    def bpopright(self, timeout: float = 0) -> Any:
        """BRPOP: the last item, waiting up to ``timeout`` seconds (0 = forever); None on
        timeout. 1 round trip."""
        reply = self.database.brpop([self.key], timeout)
        return None if reply is None else reply[1]
