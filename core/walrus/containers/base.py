"""``Container``: the base of every rich wrapper around one Redis key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import ResponseError

from ..calls import Batch, Call, call, is_async_client
from ..utils import decode
from .errors import ContainerTypeError, ContainerValueError
from .running import Returns, command, sync_only

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["Container", "Sortable", "is_async_client"]

_C = TypeVar("_C", bound="Container")


class Container:
    """Wraps one key of a ``Database``, or of an ``AsyncDatabase``: then every method that
    talks to Redis returns an awaitable, and ``async for`` iterates (docs/asyncio.md).
    Creating a container sends nothing to Redis."""

    def __init__(self, database: Database, key: Any) -> None:
        if not isinstance(key, (str, bytes)):
            raise TypeError(
                f"{type(self).__name__} key must be str or bytes, got {type(key).__name__}"
            )
        if not key:
            raise ValueError(f"{type(self).__name__} key must not be empty")
        self.database = database
        self.key = key
        self._async = is_async_client(database)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {decode(self.key)!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self) and other.database is self.database and other.key == self.key
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.key))

    def _sync_only(self, operation: str, instead: str) -> None:
        """TypeError for ``operation`` (an operator Python cannot await) on an asyncio
        client, naming the awaitable ``instead``. No Redis work."""
        sync_only(self, operation, instead)

    def __iter__(self) -> Iterator[Any]:
        """Iterate the contents (sync client; ``async for`` on an asyncio one): see each
        container's ``_iterate`` for its cost."""
        self._sync_only("for", "async for")
        return self._iterate()  # type: ignore[return-value]

    def __aiter__(self) -> AsyncIterator[Any]:
        """``async for`` over the contents on an asyncio client (``for`` on a sync one)."""
        if not self._async:
            raise TypeError(f"{self!r} is on a sync client: iterate it with for")
        return self._iterate()  # type: ignore[return-value]

    def _iterate(self) -> Iterator[Any] | AsyncIterator[Any]:
        raise TypeError(f"{type(self).__name__} is not iterable")

    @command
    def _fill_with(self: _C, clear: bool, write: Call | None) -> Returns[_C]:
        """The ``from_*`` constructors' write: DEL first when ``clear``, then ``write`` (a
        step), in one MULTI/EXEC (1 round trip; none when there is neither). Returns the
        container."""
        calls = [call.delete(self.key)] if clear else []
        if write is not None:
            calls.append(write)
        if calls:
            yield Batch(calls)
        return self

    @command
    def clear(self: _C) -> Returns[_C]:
        """Delete the key (DEL, 1 round trip). Returns the container itself, as upstream
        walrus does, so calls chain: ``db.Hash("h").clear().update(a=1)``."""
        yield call.delete(self.key)
        return self

    def _ttl(self, ttl: Any, unit: str) -> int | timedelta:
        # Checked here so that a bad ttl is a clear error, not a server reply.
        if isinstance(ttl, timedelta) or (isinstance(ttl, int) and not isinstance(ttl, bool)):
            return ttl
        raise ContainerTypeError(
            f"{self!r}: ttl must be an int number of {unit}, a timedelta or None, "
            f"got {type(ttl).__name__}"
        )

    @command
    def expire(self, ttl: int | timedelta | None = None) -> Returns[bool]:
        """Expire the key in ``ttl`` seconds (an int or a timedelta); ``None`` removes any
        expiry (PERSIST). True when the key exists and its expiry changed. 1 round trip."""
        if ttl is None:
            return bool((yield call.persist(self.key)))
        try:
            return bool((yield call.expire(self.key, self._ttl(ttl, "seconds"))))
        except ResponseError as exc:
            raise self._ttl_refused(ttl, exc) from None

    @command
    def pexpire(self, ttl: int | timedelta | None = None) -> Returns[bool]:
        """Expire the key in ``ttl`` milliseconds (an int or a timedelta); ``None`` removes
        any expiry (PERSIST). True when the key exists and its expiry changed. 1 round trip."""
        if ttl is None:
            return bool((yield call.persist(self.key)))
        try:
            return bool((yield call.pexpire(self.key, self._ttl(ttl, "milliseconds"))))
        except ResponseError as exc:
            raise self._ttl_refused(ttl, exc) from None

    def _ttl_refused(self, ttl: Any, exc: ResponseError) -> Exception:
        # Redis refuses an expiry whose absolute time overflows (nothing is changed).
        if "invalid expire time" in str(exc) or "out of range" in str(exc):
            return ContainerValueError(f"{self!r}: ttl {ttl!r} is out of range")
        return exc

    @command
    def dump(self) -> Returns[bytes | None]:
        """The key serialized in Redis' DUMP format (for RESTORE), or None when the key does
        not exist. 1 round trip."""
        dumped: bytes | None = yield call.dump(self.key)
        return dumped


_ORDERINGS = ("ASC", "DESC", "asc", "desc")


class Sortable:
    """``sort()`` (Redis SORT) for List, Set and ZSet, with upstream walrus's signature."""

    database: Database
    key: Any
    _async: bool

    @command
    def sort(
        self,
        pattern: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        get_pattern: Any = None,
        ordering: str | None = None,
        alpha: bool = True,
        store: Any = None,
    ) -> Returns[Any]:
        """The members sorted (lexically unless ``alpha=False``); ``ordering`` 'ASC' or
        'DESC'; ``limit``/``offset`` page; ``pattern`` (BY) and ``get_pattern`` (GET) name
        other keys; ``store`` saves the result as a list at that key and returns its length.
        1 round trip (SORT)."""
        if ordering is not None and ordering not in _ORDERINGS:
            raise ContainerValueError(
                f"{self!r}: ordering must be 'ASC' or 'DESC', got {ordering!r}"
            )
        for name, value in (("limit", limit), ("offset", offset)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ContainerTypeError(f"{self!r}: {name} must be an int >= 0, got {value!r}")
        if limit is not None and offset is None:
            offset = 0
        if offset is not None and limit is None:
            limit = -1  # SORT's LIMIT needs a count; -1 means "to the end"
        return (yield call.sort(
            self.key, start=offset, num=limit, by=pattern, get=get_pattern,
            desc=ordering in ("DESC", "desc"), alpha=alpha, store=store,
        ))  # fmt: skip
