"""``Container``: the base of every rich wrapper around one Redis key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..utils import decode

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["Container"]


class Container:
    """Wraps one key of a ``Database``. Creating a container sends nothing to Redis."""

    def __init__(self, database: Database, key: Any) -> None:
        if not isinstance(key, (str, bytes)):
            raise TypeError(f"{type(self).__name__} key must be str or bytes, got {type(key).__name__}")
        if not key:
            raise ValueError(f"{type(self).__name__} key must not be empty")
        self.database = database
        self.key = key

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {decode(self.key)!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and other.database is self.database  # type: ignore[attr-defined]
            and other.key == self.key  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.key))

    def clear(self) -> int:
        """Delete the key (1 round trip). Returns the number of keys removed (0 or 1)."""
        return int(self.database.delete(self.key))

    def expire(self, ttl: int | None = None) -> bool:
        """Expire the key in ``ttl`` seconds; ``None`` removes any expiry (1 round trip)."""
        if ttl is None:
            return bool(self.database.persist(self.key))
        return bool(self.database.expire(self.key, ttl))

    def pexpire(self, ttl: int | None = None) -> bool:
        """Expire the key in ``ttl`` milliseconds; ``None`` removes any expiry (1 round trip)."""
        if ttl is None:
            return bool(self.database.persist(self.key))
        return bool(self.database.pexpire(self.key, ttl))

    def dump(self) -> bytes | None:
        """The key serialized in Redis' DUMP format, or None when missing (1 round trip)."""
        return self.database.dump(self.key)  # type: ignore[return-value]
