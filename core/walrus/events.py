"""What the suite reports while it works: cache hits and misses, rate-limit decisions, lock
waits, Lua script calls and their latency, as ``Event`` objects handed to subscribers.

Nothing is built, timed or sent while nobody subscribes: every emitting site first checks
``events.listeners`` (an empty tuple), which costs one attribute read. Subscribers run in
the thread that did the work, so they must be quick (count, observe, return); an exception in
one is logged and never reaches the caller. ``walrus.prometheus`` is one subscriber.

Kinds and outcomes:

=============  ============================  ==========================================
kind           outcome                       name / duration
=============  ============================  ==========================================
``cache``      ``hit``, ``miss``, ``error``  cache name (Django: the cache alias' prefix)
``rate_limit`` ``allowed``, ``refused``      limiter name
``lock``       ``acquired``, ``waited``,     lock name; seconds spent waiting (``waited``
               ``timeout``                   and ``timeout``)
``script``     ``ok``, ``error``             script name; seconds, one round trip
=============  ============================  ==========================================
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "TOTALS_KEY",
    "Event",
    "Tally",
    "by_name",
    "emit",
    "listeners",
    "read_totals",
    "subscribe",
    "tally",
]

logger = logging.getLogger("walrus.events")

listeners: tuple[Callable[[Event], object], ...] = ()
"""The current subscribers (replaced, never mutated, so readers need no lock)."""
_lock = threading.Lock()


class Event(NamedTuple):
    """One thing that happened; see the module docstring for kinds and outcomes (a tuple:
    the cheapest immutable record to build on a hot path)."""

    kind: str
    name: str
    outcome: str
    duration: float | None = None  # seconds


def subscribe(listener: Callable[[Event], object]) -> Callable[[], None]:
    """Call ``listener(event)`` for every event from now on; returns a function that
    unsubscribes it. TypeError when ``listener`` is not callable. No Redis work."""
    if not callable(listener):
        raise TypeError(f"listener must be callable, got {listener!r}")
    global listeners
    with _lock:
        listeners = (*listeners, listener)

    def unsubscribe() -> None:
        global listeners
        with _lock:
            listeners = tuple(fn for fn in listeners if fn is not listener)

    return unsubscribe


def emit(kind: str, name: object, outcome: str, duration: float | None = None) -> None:
    """Hand one event to every subscriber (callers check ``listeners`` first). No Redis work."""
    event = Event(
        kind,
        name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name),
        outcome,
        duration,
    )
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken subscriber must not break the caller's operation
            logger.exception("walrus event subscriber %r failed on %r", listener, event)


class Tally:
    """Totals of the events since ``start()``, with no dependency: for pages and commands
    that show figures (the Django admin's server page, ``walrus_info``).

    ``snapshot()`` gives this process's totals. With ``start(database)``, a daemon thread also
    adds what was counted to the hash ``TOTALS_KEY`` on that database every ``interval``
    seconds (one pipelined round trip of HINCRBY), so ``read_totals`` shows every process's
    figures; a failed flush is kept for the next one.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], int] = {}
        self._unflushed: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, database: Any = None, interval: float = 5.0) -> Tally:
        """Subscribe (once); with ``database``, flush to it every ``interval`` seconds. No Redis
        work here; with ``database``, each flush is then 1 round trip, from the flushing thread."""
        with self._lock:
            if self._unsubscribe is None:
                self._unsubscribe = subscribe(self._count)
            if database is not None and self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._flush_loop,
                    args=(database, interval),
                    name="walrus-tally",
                    daemon=True,
                )
                self._thread.start()
        return self

    def stop(self) -> None:
        """Unsubscribe and stop flushing; the totals stay readable. No Redis work."""
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(5)

    def _flush_loop(self, database: Any, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush(database)

    def flush(self, database: Any) -> bool:
        """Add the counts since the last flush to ``TOTALS_KEY`` (1 round trip); True when
        all were added (or nothing to send). Counts the server refused (out of memory, a
        read-only replica, a field that is not a number) are kept for the next flush, the
        ones it added are not sent again; when the round trip itself fails, all are kept."""
        with self._lock:
            pending, self._unflushed = self._unflushed, {}
        if not pending:
            return True
        try:
            pipe = database.pipeline(transaction=False)
            for (kind, name, outcome), count in pending.items():
                pipe.hincrby(TOTALS_KEY, f"{kind}\x1f{name}\x1f{outcome}", count)
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:  # keep them: the next flush retries
            replies = [exc] * len(pending)
        errors = {
            key: reply
            for key, reply in zip(pending, replies, strict=True)
            if isinstance(reply, Exception)
        }
        if not errors:
            return True
        logger.warning("walrus tally flush failed, %d count(s) kept for the next one: %r",
                       len(errors), next(iter(errors.values())))  # fmt: skip
        with self._lock:
            for key in errors:
                self._unflushed[key] = self._unflushed.get(key, 0) + pending[key]
        return False

    @property
    def running(self) -> bool:
        return self._unsubscribe is not None

    def _count(self, event: Event) -> None:
        key = (event.kind, event.name, event.outcome)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            self._unflushed[key] = self._unflushed.get(key, 0) + 1

    def snapshot(self) -> dict[tuple[str, str, str], int]:
        """A copy of the totals. No Redis work."""
        with self._lock:
            return dict(self._counts)

    def by_name(self, kind: str) -> dict[str, dict[str, int]]:
        """``{name: {outcome: count}}`` of this process for one kind of event. No Redis work."""
        return by_name(self.snapshot(), kind)


TOTALS_KEY = "walrus:metrics"
"""The hash where ``Tally.flush`` adds every process's counts (field ``kind␟name␟outcome``)."""


def read_totals(database: Any) -> dict[tuple[str, str, str], int]:
    """Every process's flushed counts from ``TOTALS_KEY`` (1 round trip; HGETALL)."""
    totals: dict[tuple[str, str, str], int] = {}
    for field, value in database.hgetall(TOTALS_KEY).items():
        text = field.decode("utf-8", "replace") if isinstance(field, bytes) else str(field)
        parts = text.split("\x1f")
        if len(parts) == 3:
            totals[(parts[0], parts[1], parts[2])] = int(value)
    return totals


def by_name(counts: dict[tuple[str, str, str], int], kind: str) -> dict[str, dict[str, int]]:
    """``{name: {outcome: count}}`` for one kind of event of ``counts``. No Redis work."""
    table: dict[str, dict[str, int]] = {}
    for (k, name, outcome), count in counts.items():
        if k == kind:
            table.setdefault(name, {})[outcome] = table.get(name, {}).get(outcome, 0) + count
    return table


tally = Tally()
"""The process-wide tally that ``django_walrus`` starts when ``WALRUS_METRICS`` is True."""
