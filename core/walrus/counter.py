"""``Counter``: an integer counter in one Redis string key, ``counter:<name>`` (upstream's layout).

One key and single-key commands: the same layout on one server and on Redis Cluster.

Creating a ``Counter`` sends nothing: a missing key counts as 0 for INCRBY and for ``value``.
(Upstream walrus checked for the key and then wrote 0, a race that could reset a counter
another client had just incremented.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = ["Counter"]


def _check_amount(value: Any, what: str) -> int:
    if isinstance(value, Counter):
        return value.value()
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    return value


class Counter:
    """An atomic integer counter shared by every client.

    >>> hits = db.counter("hits")
    >>> hits.incr()
    1
    >>> hits += 5
    >>> hits.value()
    6
    """

    def __init__(self, database: Database, name: str | bytes) -> None:
        if isinstance(name, bool) or not isinstance(name, (str, bytes)):
            raise TypeError(f"counter name must be str or bytes, got {type(name).__name__}")
        if not name:
            raise ValueError("counter name must not be empty")
        self.database = database
        self.name = name
        self.key: str | bytes = b"counter:" + name if isinstance(name, bytes) else f"counter:{name}"

    def __repr__(self) -> str:
        return f"<Counter {self.name!r}>"

    def incr(self, incr_by: int | Counter = 1) -> int:
        """Add ``incr_by`` (an int, or another Counter's value: 1 more round trip) and return
        the new value. Cost: 1 round trip (INCRBY)."""
        return int(self.database.incrby(self.key, _check_amount(incr_by, "incr_by")))

    def decr(self, decr_by: int | Counter = 1) -> int:
        """Subtract ``decr_by`` and return the new value. Cost: 1 round trip (DECRBY)."""
        return int(self.database.decrby(self.key, _check_amount(decr_by, "decr_by")))

    def value(self) -> int:
        """The current value (0 when never incremented). Cost: 1 round trip (GET)."""
        raw = self.database.get(self.key)
        return 0 if raw is None else int(raw)

    def reset(self, value: int = 0) -> None:
        """Set the counter to ``value``. Cost: 1 round trip (SET)."""
        self.database.set(self.key, _check_amount(value, "value"))

    def clear(self) -> None:
        """Delete the counter's key (its value reads 0 again). Cost: 1 round trip (DEL)."""
        self.database.delete(self.key)

    def __iadd__(self, other: int | Counter) -> Counter:
        """``counter += n``: INCRBY n (1 round trip); the name stays bound to the counter."""
        self.incr(other)
        return self

    def __isub__(self, other: int | Counter) -> Counter:
        """``counter -= n``: DECRBY n (1 round trip)."""
        self.decr(other)
        return self

    # Upstream walrus makes ``+`` and ``-`` aliases of ``+=`` and ``-=``: ``counter + 1``
    # increments the stored value and returns the counter itself, not a number.
    __add__ = __iadd__
    __sub__ = __isub__

    def __int__(self) -> int:
        return self.value()
