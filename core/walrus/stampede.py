"""Cache stampede protection: one caller recomputes a missing (or nearly expired) value while
the others wait for it (or keep serving the old one), instead of every caller recomputing.

The one implementation behind ``Cache.get_or_set`` and ``Cache.cached(lock_timeout=...)`` in
the core (and ``AsyncCache``'s), ``WalrusCache.get_or_set``/``aget_or_set`` in Django and
``@cached`` views in Flask: written once as steps (``fill_steps``), driven by
``get_or_fill`` on a sync client and ``aget_or_fill`` on an asyncio one. Each cache
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

import asyncio
import inspect
import logging
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from .calls import Batch, asend, call, send
from .lock import LockError
from .steps import Steps, adrive, drive

if TYPE_CHECKING:  # pragma: no cover
    from .asyncio.database import AsyncDatabase
    from .database import Database

__all__ = [
    "MISS",
    "aget_or_fill",
    "check_stampede_options",
    "fill_lock_name",
    "fill_steps",
    "get_or_fill",
    "memo_fill_timeout",
    "stampede_options",
]

logger = logging.getLogger("walrus.stampede")

MISS: Any = object()
"""What a ``decode`` callback returns for "no usable value"."""

Decode = Callable[[Any], Any]
Produce = Callable[[], Any]

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


# The steps a fill yields besides Redis calls (walrus.calls): what only the driver can do.
_ACQUIRE = ("acquire",)  # the fill lock, without waiting: True when taken
_RELEASE = ("release",)  # the fill lock (LockError/RedisError come back into the steps)
_PRODUCE = ("produce",)  # compute, store and return the value
# Every error of a step goes back into the steps, a failed (or cancelled) computation
# included: their ``finally`` then releases the fill lock before the error goes on.
_BACK_INTO_STEPS = (BaseException,)


def memo_fill_timeout(lock_timeout: float | None, early: float | None) -> float | None:
    """The fill lock's timeout of a memoizer (``cached``) given ``lock_timeout`` and
    ``early``: None when neither is set (no stampede protection), 10 s when only ``early``
    is; checked by ``check_stampede_options``. No Redis work."""
    if lock_timeout is None and early is None:
        return None
    fill_timeout = 10.0 if lock_timeout is None else lock_timeout
    check_stampede_options(fill_timeout, early)
    return fill_timeout


def stampede_options(lock_timeout: float = 10.0, early: float | None = None) -> tuple[float, Any]:
    """``(lock_timeout, early)`` from keyword arguments, checked (``check_stampede_options``);
    TypeError for any other keyword. No Redis work."""
    check_stampede_options(lock_timeout, early)
    return lock_timeout, early


def _fill_steps(recheck: Steps | None = None) -> Steps:
    try:
        if recheck is not None:
            # Another caller may have stored the value and released the lock between our
            # last read and our acquire: read once more rather than compute it again.
            value = yield from recheck
            if value is not MISS:
                return value
        return (yield _PRODUCE)
    finally:
        try:
            yield _RELEASE
        except LockError as exc:  # the computation outlived lock_timeout
            logger.warning("cache fill outlived its lock: %s", exc)
        except RedisError as exc:
            # The value is computed (and stored, or its own error is on its way): a lock the
            # server would not release expires by itself within lock_timeout.
            logger.warning("cache fill lock not released (it expires by itself): %r", exc)


def _read_steps(redis_key: str, decode: Callable[[Any], Any]) -> Steps:
    return decode((yield call.execute_command("GET", redis_key)))


def fill_steps(
    redis_key: str,
    decode: Callable[[Any], Any],
    lock_timeout: float = 10.0,
    early: float | None = None,
) -> Steps:
    """``get_or_fill`` as steps, for a sync or an asyncio driver: Redis calls
    (``walrus.calls``), and the driver's own ``("acquire",)``, ``("release",)``,
    ``("produce",)`` and ``("sleep", seconds)``. No Redis work of its own."""
    if early is None:
        value = yield from _read_steps(redis_key, decode)
        left_ms = -1
    else:
        raw, left_ms = yield Batch(
            [call.execute_command("GET", redis_key), call.execute_command("PTTL", redis_key)],
            transaction=False,
        )
        value = decode(raw)
    if value is not MISS:
        nearly_expired = early is not None and 0 <= int(left_ms) < early * 1000
        if nearly_expired and (yield _ACQUIRE):
            # one caller refreshes; the others keep the old value
            return (yield from _fill_steps())
        return value
    deadline = time.monotonic() + lock_timeout
    delay = _FIRST_POLL
    while True:
        if (yield _ACQUIRE):
            return (yield from _fill_steps(_read_steps(redis_key, decode)))
        now = time.monotonic()
        if now >= deadline:
            # The filler is slower than lock_timeout (or gone without releasing): compute
            # here rather than wait longer than promised.
            return (yield _PRODUCE)
        # Jitter keeps waiters from polling in lockstep.
        yield ("sleep", min(delay * (0.5 + random.random()), deadline - now))  # noqa: S311
        delay = min(delay * 2, _LAST_POLL)
        value = yield from _read_steps(redis_key, decode)
        if value is not MISS:
            return value


def fill_lock_name(redis_key: str) -> str:
    """The fill lock's name for ``redis_key``. No Redis work."""
    return f"{redis_key}:fill"


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
    step = _performer(database, redis_key, produce, lock_timeout, time.sleep, send)
    return drive(fill_steps(redis_key, decode, lock_timeout, early), step, _BACK_INTO_STEPS)


async def aget_or_fill(
    database: AsyncDatabase, redis_key: str, decode: Decode, produce: Produce, **stampede: Any
) -> Any:
    """``get_or_fill`` on an asyncio client: the same steps, awaited; ``produce()`` may
    return an awaitable (an async function's call), which is awaited. ``stampede``:
    ``lock_timeout`` (default 10.0) and ``early``. Cost: as ``get_or_fill`` (a hit is 1
    round trip)."""
    lock_timeout, early = stampede_options(**stampede)
    step = _performer(database, redis_key, produce, lock_timeout, asyncio.sleep, asend)

    async def astep(action: Any) -> Any:
        done = step(action)
        return await done if inspect.isawaitable(done) else done

    return await adrive(fill_steps(redis_key, decode, lock_timeout, early), astep, _BACK_INTO_STEPS)


def _performer(
    database: Any,
    redis_key: str,
    produce: Produce,
    lock_timeout: float,
    sleep: Callable[[float], Any],
    sender: Callable[[Any, Any], Any],
) -> Callable[[Any], Any]:
    """What carries out each step of a fill, on either client (an async client's actions
    return awaitables). Makes the fill lock; no Redis work of its own."""
    lock = database.lock(fill_lock_name(redis_key), ttl=max(1, int(lock_timeout * 1000)))
    # Waiters here poll the value rather than BLPOP the lock's wake-up list: release() pushes
    # no wake-up token (none would be read; it would linger 10 s in the keyspace).
    lock.wakeup_ttl = 0

    def step(action: Any) -> Any:
        if action is _ACQUIRE:
            return lock.acquire(block=False)
        if action is _RELEASE:
            return lock.release()
        if action is _PRODUCE:
            return produce()
        if action[0] == "sleep":
            return sleep(action[1])
        return sender(database, action)

    return step
