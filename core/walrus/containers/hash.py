"""``Hash``: a Redis hash with a dict-like interface."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast, overload

from redis.exceptions import ResponseError

from ..calls import call
from ..utils import decode as _decode
from .base import Container
from .errors import VALUE_TYPES, ContainerTypeError, ContainerValueError, check_value
from .running import Returns, command, limited, pages

if TYPE_CHECKING:  # pragma: no cover
    from ..asyncio.cluster import AsyncClusterDatabase
    from ..asyncio.database import AsyncDatabase
    from ..asyncio.protocols import AsyncHash
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

    # The client decides at runtime (``is_async_client``: a coroutine execute_command): on
    # walrus's asyncio clients the same code returns a coroutine of the container, typed
    # with its protocol. Not any ``redis.asyncio.Redis``: its Pipeline subclass runs sync.
    @overload
    @classmethod
    def from_dict(
        cls, database: Database, key: Any, data: Mapping[Any, Any], clear: bool = False
    ) -> Hash: ...
    @overload
    @classmethod
    def from_dict(
        cls,
        database: AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Mapping[Any, Any],
        clear: bool = False,
    ) -> Coroutine[Any, Any, AsyncHash]: ...
    @classmethod
    def from_dict(
        cls,
        database: Database | AsyncDatabase | AsyncClusterDatabase,
        key: Any,
        data: Mapping[Any, Any],
        clear: bool = False,
    ) -> Hash | Coroutine[Any, Any, AsyncHash]:
        """Create a Hash at ``key`` holding ``data`` (``clear`` drops old fields first).
        One MULTI/EXEC round trip (on an asyncio client: ``await Hash.from_dict(...)``)."""
        hsh = cls(cast("Database", database), key)
        mapping = _pairs(hsh, (data,), {})
        return hsh._fill_with(clear, call.hset(key, mapping=mapping) if mapping else None)

    # -- dict protocol ------------------------------------------------------------------------

    @command
    def __getitem__(self, item: Any) -> Returns[Any]:
        """The value of a field (None when missing, as upstream walrus), or a list of values
        for a tuple/list of fields (HMGET). 1 round trip."""
        if isinstance(item, (tuple, list)):
            if not item:  # HMGET needs a field: no fields, no values
                return []
            for field in item:
                check_value(self, field, "field")
            return (yield call.hmget(self.key, list(item)))
        check_value(self, item, "field")
        return (yield call.hget(self.key, item))

    def __setitem__(self, key: Any, value: Any) -> None:
        """HSET one field. 1 round trip."""
        self._sync_only("h[field] = value", "await h.set(field, value)")
        self.set(key, value)

    @command
    def set(self, key: Any, value: Any) -> Returns[None]:
        """HSET one field (``h[field] = value``). 1 round trip."""
        check_value(self, key, "field")
        check_value(self, value, f"value of field {key!r}")
        yield call.hset(self.key, key, value)

    def __delitem__(self, key: Any) -> None:
        """HDEL one field (a missing field is ignored, as upstream walrus). 1 round trip."""
        self._sync_only("del h[field]", "await h.delete(field)")
        self.delete(key)

    @command
    def delete(self, *fields: Any) -> Returns[int]:
        """HDEL fields (``del h[field]`` for one); missing ones are ignored. The number
        removed. 1 round trip (none for no fields)."""
        for field in fields:
            check_value(self, field, "field")
        if not fields:
            return 0
        return int((yield call.hdel(self.key, *fields)))

    def __contains__(self, key: Any) -> bool:
        """HEXISTS. 1 round trip."""
        self._sync_only("in", "await h.contains(field)")
        return self.contains(key)

    @command
    def contains(self, key: Any) -> Returns[bool]:
        """True when the field exists (HEXISTS; ``field in h``). 1 round trip."""
        check_value(self, key, "field")
        return bool((yield call.hexists(self.key, key)))

    def __len__(self) -> int:
        """HLEN. 1 round trip."""
        self._sync_only("len()", "await h.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """The number of fields (HLEN; ``len(h)``). 1 round trip."""
        return int((yield call.hlen(self.key)))

    def _iterate(self) -> Iterator[tuple[Any, Any]] | AsyncIterator[tuple[Any, Any]]:
        """``(field, value)`` pairs, paging with HSCAN (1 round trip per page)."""
        return self._scan()

    @command
    def get(self, key: Any, default: Any = None) -> Returns[Any]:
        """The value of a field, or ``default`` when missing. 1 round trip."""
        check_value(self, key, "field")
        value = yield call.hget(self.key, key)
        return default if value is None else value

    @command
    def setnx(self, key: Any, value: Any) -> Returns[bool]:
        """Set a field only when it does not exist yet (HSETNX); True when set. 1 round trip."""
        check_value(self, key, "field")
        check_value(self, value, f"value of field {key!r}")
        return bool((yield call.hsetnx(self.key, key, value)))

    @command
    def keys(self) -> Returns[list[Any]]:
        """All fields (HKEYS). 1 round trip."""
        return list((yield call.hkeys(self.key)))

    @command
    def values(self) -> Returns[list[Any]]:
        """All values (HVALS). 1 round trip."""
        return list((yield call.hvals(self.key)))

    def items(self, lazy: bool = False) -> list[tuple[Any, Any]] | Iterator[tuple[Any, Any]]:
        """``(field, value)`` pairs: a list (HGETALL, 1 round trip) or, with ``lazy=True``, a
        generator paging through HSCAN (an async generator on an asyncio client)."""
        if lazy:
            return self._scan()  # type: ignore[return-value]
        return self._items()

    @command
    def _items(self) -> Returns[list[tuple[Any, Any]]]:
        return list((yield call.hgetall(self.key)).items())

    def _scan(self, match: Any = None) -> Iterator[tuple[Any, Any]] | AsyncIterator[Any]:
        return pages(self, lambda cursor: self._scan_page(cursor, match))

    @command
    def _scan_page(self, cursor: int, match: Any) -> Returns[tuple[int, list[Any]]]:
        cursor, data = yield call.hscan(self.key, cursor, match=match)
        return cursor, list(data.items())

    @command
    def update(self, *args: Any, **kwargs: Any) -> Returns[Hash]:
        """Set several fields from a mapping, (field, value) pairs and/or keywords (HSET,
        1 round trip; nothing is sent when there is nothing to set). Returns the Hash
        itself, as upstream walrus does, so calls chain."""
        data = _pairs(self, args, kwargs)
        if data:
            yield call.hset(self.key, mapping=data)
        return self

    @command
    def as_dict(self, decode: bool = False) -> Returns[dict[Any, Any]]:
        """Every field and value (HGETALL), as bytes or (``decode=True``) str. 1 round trip."""
        data = yield call.hgetall(self.key)
        if decode:
            return {_decode(k): _decode(v) for k, v in data.items()}
        return dict(data)

    @command
    def incr(self, key: Any, incr_by: int | float = 1) -> Returns[int | float]:
        """Add ``incr_by`` to a numeric field (HINCRBY for ints, HINCRBYFLOAT for floats) and
        return the new value. ValueError when the field is not a number. 1 round trip."""
        check_value(self, key, "field")
        if isinstance(incr_by, bool) or not isinstance(incr_by, (int, float)):
            raise ContainerTypeError(
                f"{self!r}: incr_by must be an int or float, got {type(incr_by).__name__}"
            )
        try:
            if isinstance(incr_by, int):
                return int((yield call.hincrby(self.key, key, incr_by)))
            return float((yield call.hincrbyfloat(self.key, key, incr_by)))
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
        # A float either way (HINCRBYFLOAT); on an asyncio client, an awaitable of it.
        return cast(float, self.incr(key, float(incr_by)))

    def search(self, pattern: Any, count: int | None = None) -> Iterator[tuple[Any, Any]]:
        """Yield ``(field, value)`` pairs whose field matches the glob ``pattern`` (HSCAN
        MATCH), at most ``count`` of them (an async generator on an asyncio client).
        1 round trip per HSCAN page, sent as the iterator is consumed."""
        check_value(self, pattern, "pattern")
        found = self._scan(pattern)
        if count is None:
            return found  # type: ignore[return-value]
        return limited(found, count)  # type: ignore[return-value]
