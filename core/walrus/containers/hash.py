"""``Hash``: a Redis hash with a dict-like interface."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from ..utils import decode as _decode
from .base import Container
from .errors import VALUE_TYPES, ContainerTypeError, ContainerValueError, check_value, guard

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["Hash"]

# HINCRBY / HINCRBYFLOAT replies meaning "this field cannot be incremented so".
_NOT_INCREMENTABLE = (
    "not an integer",
    "not a float",
    "not a valid float",
    "would overflow",
    "NaN or Infinity",
)


def _pairs(container: Container, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[Any, Any]:
    """Collect ``dict.update``-style arguments into a NEW dict (the caller's is never touched)."""
    if len(args) > 1:
        raise ContainerTypeError(
            f"{container!r}: update expected at most 1 positional argument, got {len(args)}"
        )
    data: dict[Any, Any] = {}
    if args:
        source = args[0]
        if isinstance(source, Mapping):
            data.update(source)
        elif isinstance(source, Iterable) and not isinstance(source, (str, bytes)):
            for pair in source:
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ContainerTypeError(
                        f"{container!r}: update expects a mapping or (field, value) pairs, "
                        f"got {pair!r}"
                    )
                data[pair[0]] = pair[1]
        else:
            raise ContainerTypeError(
                f"{container!r}: update expects a mapping or (field, value) pairs, "
                f"got {type(source).__name__}"
            )
    data.update(kwargs)
    for field, value in data.items():
        # The type test inline keeps the common case free of message formatting.
        if type(field) not in VALUE_TYPES:
            check_value(container, field, "field")
        if type(value) not in VALUE_TYPES:
            check_value(container, value, f"value of field {field!r}")
    return data


class Hash(Container):
    """A Redis hash. Fields and values come back as bytes (``as_dict(decode=True)`` for str).

    Each method is one round trip; iteration pages through HSCAN.
    """

    redis_type = "hash"
    accepted_types: tuple[str, ...] = ("hash",)

    @classmethod
    def from_dict(
        cls, database: Database, key: Any, data: Mapping[Any, Any], clear: bool = False
    ) -> Hash:
        """Create a Hash at ``key`` holding ``data`` (``clear`` drops old fields first).
        One MULTI/EXEC round trip."""
        hsh = cls(database, key)
        mapping = _pairs(hsh, (data,), {})
        pipe = database.pipeline(transaction=True)
        if clear:
            pipe.delete(key)
        if mapping:
            pipe.hset(key, mapping=mapping)
        if len(pipe):  # len(): cluster pipelines queue elsewhere than command_stack
            hsh._run_pipe(pipe)
        return hsh

    @guard
    def _run_pipe(self, pipe: Any) -> list[Any]:
        return list(pipe.execute())

    # -- dict protocol ------------------------------------------------------------------------

    @guard
    def __getitem__(self, item: Any) -> Any:
        """The value of a field (None when missing, as upstream walrus), or a list of values
        for a tuple/list of fields (HMGET). 1 round trip."""
        if isinstance(item, (tuple, list)):
            if not item:  # HMGET needs a field: no fields, no values
                return []
            for field in item:
                check_value(self, field, "field")
            return self.database.hmget(self.key, list(item))
        check_value(self, item, "field")
        return self.database.hget(self.key, item)

    @guard
    def __setitem__(self, key: Any, value: Any) -> None:
        """HSET one field. 1 round trip."""
        check_value(self, key, "field")
        check_value(self, value, f"value of field {key!r}")
        self.database.hset(self.key, key, value)

    @guard
    def __delitem__(self, key: Any) -> None:
        """HDEL one field (a missing field is ignored, as upstream walrus). 1 round trip."""
        check_value(self, key, "field")
        self.database.hdel(self.key, key)

    @guard
    def __contains__(self, key: Any) -> bool:
        """HEXISTS. 1 round trip."""
        check_value(self, key, "field")
        return bool(self.database.hexists(self.key, key))

    @guard
    def __len__(self) -> int:
        """HLEN. 1 round trip."""
        return int(self.database.hlen(self.key))

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        """Yield ``(field, value)`` pairs, paging with HSCAN (1 round trip per page)."""
        return self.items(lazy=True)  # type: ignore[return-value]

    @guard
    def get(self, key: Any, default: Any = None) -> Any:
        """The value of a field, or ``default`` when missing. 1 round trip."""
        check_value(self, key, "field")
        value = self.database.hget(self.key, key)
        return default if value is None else value

    @guard
    def setnx(self, key: Any, value: Any) -> bool:
        """Set a field only when it does not exist yet (HSETNX); True when set. 1 round trip."""
        check_value(self, key, "field")
        check_value(self, value, f"value of field {key!r}")
        return bool(self.database.hsetnx(self.key, key, value))

    @guard
    def keys(self) -> list[Any]:
        """All fields (HKEYS). 1 round trip."""
        return list(self.database.hkeys(self.key))

    @guard
    def values(self) -> list[Any]:
        """All values (HVALS). 1 round trip."""
        return list(self.database.hvals(self.key))

    def items(self, lazy: bool = False) -> list[tuple[Any, Any]] | Iterator[tuple[Any, Any]]:
        """``(field, value)`` pairs: a list (HGETALL, 1 round trip) or, with ``lazy=True``, a
        generator paging through HSCAN."""
        if lazy:
            return self._scan()
        return list(self._getall().items())

    @guard
    def _getall(self) -> dict[Any, Any]:
        return self.database.hgetall(self.key)

    @guard
    def _scan(self, match: Any = None) -> Iterator[tuple[Any, Any]]:
        yield from self.database.hscan_iter(self.key, match=match)

    @guard
    def update(self, *args: Any, **kwargs: Any) -> Hash:
        """Set several fields from a mapping, (field, value) pairs and/or keywords (HSET,
        1 round trip; nothing is sent when there is nothing to set). Returns the Hash
        itself, as upstream walrus does, so calls chain."""
        data = _pairs(self, args, kwargs)
        if data:
            self.database.hset(self.key, mapping=data)
        return self

    @guard
    def as_dict(self, decode: bool = False) -> dict[Any, Any]:
        """Every field and value (HGETALL), as bytes or (``decode=True``) str. 1 round trip."""
        data = self.database.hgetall(self.key)
        if decode:
            return {_decode(k): _decode(v) for k, v in data.items()}
        return dict(data)

    @guard
    def incr(self, key: Any, incr_by: int | float = 1) -> int | float:
        """Add ``incr_by`` to a numeric field (HINCRBY for ints, HINCRBYFLOAT for floats) and
        return the new value. ValueError when the field is not a number. 1 round trip."""
        check_value(self, key, "field")
        if isinstance(incr_by, bool) or not isinstance(incr_by, (int, float)):
            raise ContainerTypeError(
                f"{self!r}: incr_by must be an int or float, got {type(incr_by).__name__}"
            )
        try:
            if isinstance(incr_by, int):
                return int(self.database.hincrby(self.key, key, incr_by))
            return float(self.database.hincrbyfloat(self.key, key, incr_by))
        except ResponseError as exc:
            # Only the replies about the field's value; OOM, READONLY, WRONGTYPE, MISCONF and
            # the rest keep their type.
            if not any(text in str(exc) for text in _NOT_INCREMENTABLE):
                raise
            raise ContainerValueError(f"{self!r}: cannot increment field {key!r}: {exc}") from None

    def incr_float(self, key: Any, incr_by: float = 1.0) -> float:
        """Add ``incr_by`` to a field as a float (HINCRBYFLOAT) and return the new value.
        1 round trip."""
        if isinstance(incr_by, bool) or not isinstance(incr_by, (int, float)):
            raise ContainerTypeError(
                f"{self!r}: incr_by must be a number, got {type(incr_by).__name__}"
            )
        return float(self.incr(key, float(incr_by)))

    def search(self, pattern: Any, count: int | None = None) -> Iterator[tuple[Any, Any]]:
        """Yield ``(field, value)`` pairs whose field matches the glob ``pattern`` (HSCAN
        MATCH), at most ``count`` of them.
        1 round trip per HSCAN page, sent as the iterator is consumed."""
        check_value(self, pattern, "pattern")
        found = self._scan(pattern)
        return found if count is None else islice(found, count)
