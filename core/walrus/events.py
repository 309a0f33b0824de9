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
from typing import NamedTuple

__all__ = ["Event", "emit", "listeners", "subscribe"]

logger = logging.getLogger("walrus.events")

#: The current subscribers (replaced, never mutated, so readers need no lock).
listeners: tuple[Callable[[Event], object], ...] = ()
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
    unsubscribes it. TypeError when ``listener`` is not callable."""
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
    """Hand one event to every subscriber (callers check ``listeners`` first)."""
    event = Event(kind, name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name), outcome, duration)
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken subscriber must not break the caller's operation
            logger.exception("walrus event subscriber %r failed on %r", listener, event)
