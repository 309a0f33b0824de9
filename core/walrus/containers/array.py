"""``Array``: a dense array stored in a Redis hash (field ``"<i>"`` -> item ``i``).

The layout is upstream walrus's, so either library reads the other's data: a hash whose
fields are the decimal indexes ``0 .. n-1``. Unlike upstream, items always come back in
index order (upstream sorted the fields as text, so ``"10"`` came before ``"2"``).
Writes that depend on the length (append, pop, delete, set) run as one Lua script each, so
they are atomic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast, overload

from ..calls import call
from ..utils import decode as _decode
from .base import Container
from .errors import (
    ContainerIndexError,
    ContainerTypeError,
    check_index,
    check_value,
    check_values,
)
from .list import slice_step, slice_to_range
from .running import Returns, command, snapshot

if TYPE_CHECKING:  # pragma: no cover
    from ..asyncio.cluster import AsyncClusterDatabase
    from ..asyncio.database import AsyncDatabase
    from ..asyncio.protocols import AsyncArray
    from ..database import Database

__all__ = ["Array"]


def _values(container: Container, values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ContainerTypeError(
            f"{container!r}: {what} expects an iterable of values, got {type(values).__name__}"
        )
    items = list(values)
    check_values(container, items)
    return items


class Array(Container):
    """An array: O(1) append, get, set, len and pop of the last item; O(n) removal from
    the middle and ``in``. Items come back as bytes (``as_list(decode=True)`` for str).

    Each method is one round trip.
    """

    redis_type = "hash"
    accepted_types: tuple[str, ...] = ("hash",)

    # The client decides at runtime (``is_async_client``: a coroutine execute_command): on
    # walrus's asyncio clients the same code returns a coroutine of the container, typed
    # with its protocol. Not any ``redis.asyncio.Redis``: its Pipeline subclass runs sync.
    @overload
    @classmethod
    def from_list(
        cls, database: Database, key: Any, data: Iterable[Any], clear: bool = False
    ) -> Array: ...
    @overload
    @classmethod
    def from_list(
        cls,
        database: AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Iterable[Any],
        clear: bool = False,
    ) -> Coroutine[Any, Any, AsyncArray]: ...
    @classmethod
    def from_list(
        cls,
        database: Database | AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Iterable[Any],
        clear: bool = False,
    ) -> Array | Coroutine[Any, Any, AsyncArray]:
        """Create an Array at ``key`` from ``data`` (appended; ``clear`` replaces the old
        items). 1 round trip (one script; on an asyncio client:
        ``await Array.from_list(...)``)."""
        arr = cls(cast("Database", database), key)
        return arr._fill(_values(arr, data, "from_list"), clear)

    @command
    def _fill(self, items: list[Any], clear: bool) -> Returns[Array]:
        if items or clear:
            yield from self._extend(items, clear)
        return self

    def _extend(self, items: list[Any], clear: bool = False) -> Returns[int]:
        return int((yield self._script("array_extend", "1" if clear else "0", *items)))

    def _script(self, name: str, *args: Any) -> Any:
        # A Lua script on this key: ``run_script`` of either client (1 round trip).
        return call.run_script(name, keys=[self.key], args=list(args))

    # -- reading ------------------------------------------------------------------------------

    @command
    def __getitem__(self, idx: int | slice) -> Returns[Any]:
        """``arr[i]`` (negative counts from the end; None when out of range, as upstream
        documents: no stored value is None) or ``arr[a:b:c]`` (a list, in index order).
        1 round trip."""
        if isinstance(idx, slice):
            step = slice_step(self, idx)
            if step != 1:
                slice_to_range(self, idx)  # validates the bounds
                return (yield from self._range(0, -1))[idx]
            bounds = slice_to_range(self, idx)
            if bounds is None:
                return []
            return (yield from self._range(*bounds))
        index = check_index(self, idx, "Array index")
        if index >= 0:
            return (yield call.hget(self.key, index))
        return (yield self._script("array_get", index))

    def _range(self, start: int, stop: int) -> Returns[list[Any]]:
        return list((yield self._script("array_range", start, stop)))

    def __len__(self) -> int:
        """HLEN. 1 round trip."""
        self._sync_only("len()", "await arr.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """The number of items (HLEN; ``len(arr)``). 1 round trip."""
        return int((yield call.hlen(self.key)))

    def __contains__(self, item: Any) -> bool:
        """Whether an item equals ``item`` (compared on the server, O(n)). 1 round trip."""
        self._sync_only("in", "await arr.contains(item)")
        return self.contains(item)

    @command
    def contains(self, item: Any) -> Returns[bool]:
        """Whether an item equals ``item`` (``item in arr``; compared on the server, O(n)).
        1 round trip."""
        check_value(self, item)
        return bool((yield self._script("array_contains", item)))

    def _iterate(self) -> Iterator[Any] | AsyncIterator[Any]:
        """A snapshot of the items in index order (1 round trip, when iteration starts on
        an asyncio client)."""
        return snapshot(self, self.as_list)

    @command
    def as_list(self, decode: bool = False) -> Returns[list[Any]]:
        """Every item in index order, as bytes or (``decode=True``) str. 1 round trip."""
        items = yield from self._range(0, -1)
        if decode:
            return [_decode(v) for v in items]
        return items

    # -- writing ------------------------------------------------------------------------------

    def __setitem__(self, idx: int, value: Any) -> None:
        """Replace the item at ``idx`` (negative counts from the end); IndexError when out
        of range, as for a Python list. 1 round trip."""
        self._sync_only("arr[i] = value", "await arr.set(i, value)")
        self.set(idx, value)

    @command
    def set(self, idx: int, value: Any) -> Returns[None]:
        """Replace the item at ``idx`` (``arr[i] = value``; negative counts from the end);
        IndexError when out of range, as for a Python list. 1 round trip."""
        if isinstance(idx, slice):
            raise ContainerTypeError(f"{self!r}: slice assignment is not supported")
        index = check_index(self, idx, "Array index")
        check_value(self, value)
        if not (yield self._script("array_set", index, value)):
            raise ContainerIndexError(f"{self!r}: array assignment index {index} out of range")

    def __delitem__(self, idx: int) -> None:
        """Remove the item at ``idx``, shifting later items down; IndexError when out of
        range. 1 round trip."""
        self._sync_only("del arr[i]", "await arr.delete(i)")
        self.delete(idx)

    @command
    def delete(self, idx: int) -> Returns[None]:
        """Remove the item at ``idx`` (``del arr[i]``), shifting later items down;
        IndexError when out of range. 1 round trip."""
        if isinstance(idx, slice):
            raise ContainerTypeError(f"{self!r}: deleting a slice is not supported")
        yield from self._pop(check_index(self, idx, "Array index"))

    def _pop(self, index: int) -> Returns[Any]:
        value = yield self._script("array_pop", index)
        if value is None:
            raise ContainerIndexError(f"{self!r}: array index {index} out of range")
        return value

    @command
    def pop(self, idx: int | None = None) -> Returns[Any]:
        """Remove and return the item at ``idx`` (default: the last); IndexError when the
        array is empty or ``idx`` is out of range. 1 round trip."""
        return (yield from self._pop(-1 if idx is None else check_index(self, idx, "Array index")))

    @command
    def append(self, value: Any) -> Returns[None]:
        """Add one item at the end. 1 round trip."""
        check_value(self, value)
        yield self._script("array_extend", "0", value)

    @command
    def extend(self, values: Iterable[Any]) -> Returns[None]:
        """Add every item of an iterable at the end, in order. 1 round trip (none when empty)."""
        items = _values(self, values, "extend")
        if items:
            yield from self._extend(items)
