"""``Array``: a dense array stored in a Redis hash (field ``"<i>"`` -> item ``i``).

The layout is upstream walrus's, so either library reads the other's data: a hash whose
fields are the decimal indexes ``0 .. n-1``. Unlike upstream, items always come back in
index order (upstream sorted the fields as text, so ``"10"`` came before ``"2"``).
Writes that depend on the length (append, pop, delete, set) run as one Lua script each, so
they are atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..utils import decode as _decode
from .base import Container
from .errors import (
    ContainerIndexError,
    ContainerTypeError,
    check_index,
    check_value,
    check_values,
    guard,
)
from .list import slice_step, slice_to_range

if TYPE_CHECKING:  # pragma: no cover
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

    @classmethod
    def from_list(
        cls, database: Database, key: Any, data: Iterable[Any], clear: bool = False
    ) -> Array:
        """Create an Array at ``key`` from ``data`` (appended; ``clear`` replaces the old
        items). 1 round trip (one script)."""
        arr = cls(database, key)
        items = _values(arr, data, "from_list")
        if items or clear:
            arr._extend(items, clear)
        return arr

    @guard
    def _extend(self, items: list[Any], clear: bool = False) -> int:
        return int(
            self.database.run_script("array_extend", [self.key], ["1" if clear else "0", *items])
        )

    # -- reading ------------------------------------------------------------------------------

    @guard
    def __getitem__(self, idx: int | slice) -> Any:
        """``arr[i]`` (negative counts from the end; None when out of range, as upstream
        documents: no stored value is None) or ``arr[a:b:c]`` (a list, in index order).
        1 round trip."""
        if isinstance(idx, slice):
            step = slice_step(self, idx)
            if step != 1:
                slice_to_range(self, idx)  # validates the bounds
                return self._range(0, -1)[idx]
            bounds = slice_to_range(self, idx)
            if bounds is None:
                return []
            return self._range(*bounds)
        index = check_index(self, idx, "Array index")
        if index >= 0:
            value = self.database.hget(self.key, index)
        else:
            value = self.database.run_script("array_get", [self.key], [index])
        return value

    def _range(self, start: int, stop: int) -> list[Any]:
        return list(self.database.run_script("array_range", [self.key], [start, stop]))

    @guard
    def __len__(self) -> int:
        """HLEN. 1 round trip."""
        return int(self.database.hlen(self.key))

    @guard
    def __contains__(self, item: Any) -> bool:
        """Whether an item equals ``item`` (compared on the server, O(n)). 1 round trip."""
        check_value(self, item)
        return bool(self.database.run_script("array_contains", [self.key], [item]))

    def __iter__(self) -> Iterator[Any]:
        """Iterate over a snapshot of the items in index order (1 round trip)."""
        return iter(self.as_list())

    @guard
    def as_list(self, decode: bool = False) -> list[Any]:
        """Every item in index order, as bytes or (``decode=True``) str. 1 round trip."""
        items = self._range(0, -1)
        if decode:
            return [_decode(v) for v in items]
        return items

    # -- writing ------------------------------------------------------------------------------

    @guard
    def __setitem__(self, idx: int, value: Any) -> None:
        """Replace the item at ``idx`` (negative counts from the end); IndexError when out
        of range, as for a Python list. 1 round trip."""
        if isinstance(idx, slice):
            raise ContainerTypeError(f"{self!r}: slice assignment is not supported")
        index = check_index(self, idx, "Array index")
        check_value(self, value)
        if not self.database.run_script("array_set", [self.key], [index, value]):
            raise ContainerIndexError(f"{self!r}: array assignment index {index} out of range")

    @guard
    def __delitem__(self, idx: int) -> None:
        """Remove the item at ``idx``, shifting later items down; IndexError when out of
        range. 1 round trip."""
        if isinstance(idx, slice):
            raise ContainerTypeError(f"{self!r}: deleting a slice is not supported")
        self._pop(check_index(self, idx, "Array index"))

    def _pop(self, index: int) -> Any:
        value = self.database.run_script("array_pop", [self.key], [index])
        if value is None:
            raise ContainerIndexError(f"{self!r}: array index {index} out of range")
        return value

    @guard
    def pop(self, idx: int | None = None) -> Any:
        """Remove and return the item at ``idx`` (default: the last); IndexError when the
        array is empty or ``idx`` is out of range. 1 round trip."""
        return self._pop(-1 if idx is None else check_index(self, idx, "Array index"))

    @guard
    def append(self, value: Any) -> None:
        """Add one item at the end. 1 round trip."""
        check_value(self, value)
        self.database.run_script("array_extend", [self.key], ["0", value])

    @guard
    def extend(self, values: Iterable[Any]) -> None:
        """Add every item of an iterable at the end, in order. 1 round trip (none when empty)."""
        items = _values(self, values, "extend")
        if items:
            self._extend(items)
