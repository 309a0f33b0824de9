"""``Counter``: an integer counter in one Redis string key, ``counter:<name>`` (upstream's layout).

One key and single-key commands: the same layout on one server and on Redis Cluster.

Creating a ``Counter`` sends nothing: a missing key counts as 0 for INCRBY and for ``value``.
(Upstream walrus checked for the key and then wrote 0, a race that could reset a counter
another client had just incremented.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .calls import call, is_async_client
from .containers.running import Returns, command, sync_only

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = ["Counter"]


def _amount(value: Any, what: str) -> Returns[int]:
    """``value`` as an int (another Counter's value: 1 round trip). Steps."""
    if isinstance(value, Counter):
        raw = yield call.get(value.key)
        return 0 if raw is None else int(raw)
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
        # On an AsyncDatabase each method below returns an awaitable of its result.
        self._async = is_async_client(database)
        self.key: str | bytes = b"counter:" + name if isinstance(name, bytes) else f"counter:{name}"

    _explain_error = None  # server errors are raised as they come (a non-integer value)

    def __repr__(self) -> str:
        return f"<Counter {self.name!r}>"

    @command
    def incr(self, incr_by: int | Counter = 1) -> Returns[int]:
        """Add ``incr_by`` (an int, or another Counter's value: 1 more round trip) and return
        the new value. Cost: 1 round trip (INCRBY)."""
        amount = yield from _amount(incr_by, "incr_by")
        return int((yield call.incrby(self.key, amount)))

    @command
    def decr(self, decr_by: int | Counter = 1) -> Returns[int]:
        """Subtract ``decr_by`` and return the new value. Cost: 1 round trip (DECRBY)."""
        amount = yield from _amount(decr_by, "decr_by")
        return int((yield call.decrby(self.key, amount)))

    @command
    def value(self) -> Returns[int]:
        """The current value (0 when never incremented). Cost: 1 round trip (GET)."""
        return (yield from _amount(self, "value"))

    @command
    def reset(self, value: int = 0) -> Returns[None]:
        """Set the counter to ``value``. Cost: 1 round trip (SET)."""
        amount = yield from _amount(value, "value")
        yield call.set(self.key, amount)

    @command
    def clear(self) -> Returns[None]:
        """Delete the counter's key (its value reads 0 again). Cost: 1 round trip (DEL)."""
        yield call.delete(self.key)

    def __iadd__(self, other: int | Counter) -> Counter:
        """``counter += n``: INCRBY n (1 round trip); the name stays bound to the counter."""
        sync_only(self, "+=", "await counter.incr(n)")
        self.incr(other)
        return self

    def __isub__(self, other: int | Counter) -> Counter:
        """``counter -= n``: DECRBY n (1 round trip)."""
        sync_only(self, "-=", "await counter.decr(n)")
        self.decr(other)
        return self

    # Upstream walrus makes ``+`` and ``-`` aliases of ``+=`` and ``-=``: ``counter + 1``
    # increments the stored value and returns the counter itself, not a number.
    __add__ = __iadd__
    __sub__ = __isub__

    def __int__(self) -> int:
        sync_only(self, "int()", "await counter.value()")
        return self.value()
