"""``Container``: the base of every rich wrapper around one Redis key."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import ResponseError

from ..utils import decode
from .errors import ContainerTypeError, ContainerValueError

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["Container", "Sortable"]

_C = TypeVar("_C", bound="Container")


class Container:
    """Wraps one key of a ``Database``. Creating a container sends nothing to Redis."""

    def __init__(self, database: Database, key: Any) -> None:
        if not isinstance(key, (str, bytes)):
            raise TypeError(
                f"{type(self).__name__} key must be str or bytes, got {type(key).__name__}"
            )
        if not key:
            raise ValueError(f"{type(self).__name__} key must not be empty")
        self.database = database
        self.key = key

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {decode(self.key)!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self) and other.database is self.database and other.key == self.key
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.key))

    def clear(self: _C) -> _C:
        """Delete the key (DEL, 1 round trip). Returns the container itself, as upstream
        walrus does, so calls chain: ``db.Hash("h").clear().update(a=1)``."""
        self.database.delete(self.key)
        return self

    def _ttl(self, ttl: Any, unit: str) -> int | timedelta:
        # Checked here so that a bad ttl is a clear error, not a server reply.
        if isinstance(ttl, timedelta) or (isinstance(ttl, int) and not isinstance(ttl, bool)):
            return ttl
        raise ContainerTypeError(
            f"{self!r}: ttl must be an int number of {unit}, a timedelta or None, "
            f"got {type(ttl).__name__}"
        )

    def expire(self, ttl: int | timedelta | None = None) -> bool:
        """Expire the key in ``ttl`` seconds (an int or a timedelta); ``None`` removes any
        expiry (PERSIST). True when the key exists and its expiry changed. 1 round trip."""
        if ttl is None:
            return bool(self.database.persist(self.key))
        try:
            return bool(self.database.expire(self.key, self._ttl(ttl, "seconds")))
        except ResponseError as exc:
            raise self._ttl_refused(ttl, exc) from None

    def pexpire(self, ttl: int | timedelta | None = None) -> bool:
        """Expire the key in ``ttl`` milliseconds (an int or a timedelta); ``None`` removes
        any expiry (PERSIST). True when the key exists and its expiry changed. 1 round trip."""
        if ttl is None:
            return bool(self.database.persist(self.key))
        try:
            return bool(self.database.pexpire(self.key, self._ttl(ttl, "milliseconds")))
        except ResponseError as exc:
            raise self._ttl_refused(ttl, exc) from None

    def _ttl_refused(self, ttl: Any, exc: ResponseError) -> Exception:
        # Redis refuses an expiry whose absolute time overflows (nothing is changed).
        if "invalid expire time" in str(exc) or "out of range" in str(exc):
            return ContainerValueError(f"{self!r}: ttl {ttl!r} is out of range")
        return exc

    def dump(self) -> bytes | None:
        """The key serialized in Redis' DUMP format (for RESTORE), or None when the key does
        not exist. 1 round trip."""
        return self.database.dump(self.key)


_ORDERINGS = ("ASC", "DESC", "asc", "desc")


class Sortable:
    """``sort()`` (Redis SORT) for List, Set and ZSet, with upstream walrus's signature."""

    database: Database
    key: Any

    def sort(
        self,
        pattern: Any = None,
        limit: int | None = None,
        offset: int | None = None,
        get_pattern: Any = None,
        ordering: str | None = None,
        alpha: bool = True,
        store: Any = None,
    ) -> Any:
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
        return self.database.sort(
            self.key, start=offset, num=limit, by=pattern, get=get_pattern,
            desc=ordering in ("DESC", "desc"), alpha=alpha, store=store,
        )  # fmt: skip
