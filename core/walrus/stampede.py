"""Cache stampede protection: one caller recomputes a missing (or nearly expired) value while
the others wait for it (or keep serving the old one), instead of every caller recomputing.

The one implementation behind ``Cache.get_or_set`` and ``Cache.cached(lock_timeout=...)`` in
the core, ``WalrusCache.get_or_set`` in Django and ``@cached`` views in Flask. Each cache
passes how it decodes a stored value and how it computes and stores a new one; this module
only decides who computes, with a walrus ``Lock`` named ``<redis key>:fill`` (owner-checked,
server clock, expires by itself if the computing process dies).

Cost: a hit is 1 round trip (GET, or GET + PTTL pipelined when ``early`` is set). A miss
costs the computing caller 2 more (the lock, SET NX, and a second GET: someone may have
stored the value just before the lock was free) plus its store and the release; a
waiting caller polls (GET, then SET NX when still missing) every 5 ms at first, backing off
to 50 ms, for at most ``lock_timeout`` seconds, after which it computes itself.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from .lock import Lock, LockError

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = ["MISS", "check_stampede_options", "get_or_fill"]

logger = logging.getLogger("walrus.stampede")

MISS: Any = object()
"""What a ``decode`` callback returns for "no usable value"."""

_FIRST_POLL = 0.005  # seconds; doubles up to _LAST_POLL while waiting
_LAST_POLL = 0.05


def check_stampede_options(lock_timeout: Any, early: Any) -> None:
    """ValueError/TypeError naming the option, for a ``lock_timeout`` that is not a positive
    number of seconds or an ``early`` that is not None or a positive number of seconds.
    No Redis work."""
    for name, value, optional in (("lock_timeout", lock_timeout, False), ("early", early, True)):
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of seconds, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


def _fill(lock: Lock, produce: Callable[[], Any], recheck: Callable[[], Any] | None = None) -> Any:
    try:
        if recheck is not None:
            # Another caller may have stored the value and released the lock between our
            # last read and our acquire: read once more rather than compute it again.
            value = recheck()
            if value is not MISS:
                return value
        return produce()
    finally:
        try:
            lock.release()
        except LockError as exc:  # the computation outlived lock_timeout
            logger.warning("cache fill of %r outlived its lock: %s", lock.name, exc)
        except RedisError as exc:
            # The value is computed (and stored, or its own error is on its way): a lock the
            # server would not release expires by itself within lock_timeout.
            logger.warning(
                "cache fill lock %r not released (it expires by itself): %r", lock.name, exc
            )


def get_or_fill(
    database: Database,
    redis_key: str,
    decode: Callable[[Any], Any],
    produce: Callable[[], Any],
    lock_timeout: float = 10.0,
    early: float | None = None,
) -> Any:
    """The value at ``redis_key``, computed by at most one caller at a time when missing.

    ``decode(raw)`` turns the stored bytes (or None) into a value or ``MISS``;
    ``produce()`` computes the value, stores it, and returns it. ``lock_timeout``: seconds a
    computation may take before waiting callers give up waiting and compute themselves.
    ``early``: seconds before expiry when one caller (chosen by the lock) recomputes while
    every other caller keeps getting the current value without waiting.
    Cost: see the module docstring (a hit is 1 round trip).
    """
    if early is None:
        value = decode(database.execute_command("GET", redis_key))
        left_ms = -1
    else:
        pipe = database.pipeline(transaction=False)
        pipe.execute_command("GET", redis_key)
        pipe.execute_command("PTTL", redis_key)
        raw, left_ms = pipe.execute()
        value = decode(raw)
    lock = database.lock(f"{redis_key}:fill", ttl=max(1, int(lock_timeout * 1000)))
    # Waiters here poll the value rather than BLPOP the lock's wake-up list: release() pushes
    # no wake-up token (none would be read; it would linger 10 s in the keyspace).
    lock.wakeup_ttl = 0
    if value is not MISS:
        nearly_expired = early is not None and 0 <= int(left_ms) < early * 1000
        if nearly_expired and lock.acquire(block=False):
            return _fill(lock, produce)  # one caller refreshes; the others keep the old value
        return value
    deadline = time.monotonic() + lock_timeout
    delay = _FIRST_POLL

    def recheck() -> Any:
        return decode(database.execute_command("GET", redis_key))

    while True:
        if lock.acquire(block=False):
            return _fill(lock, produce, recheck)
        now = time.monotonic()
        if now >= deadline:
            # The filler is slower than lock_timeout (or gone without releasing): compute
            # here rather than wait longer than promised.
            return produce()
        # Jitter keeps waiters from polling in lockstep.
        time.sleep(min(delay * (0.5 + random.random()), deadline - now))  # noqa: S311
        delay = min(delay * 2, _LAST_POLL)
        value = decode(database.execute_command("GET", redis_key))
        if value is not MISS:
            return value
