"""``Lock``: a distributed mutex on one Redis key, with blocking acquire that does not spin.

Key layout (upstream walrus's, so either library sees the other's locks):

- ``lock:<name>``: string holding the owner token (``Lock._lock_id``), with a PX expiry
  when the lock has a ttl
- ``lock.event:<name>``: wake-up list; a release pushes one token there (with a short
  expiry, so the list never outlives its use) and a blocked acquirer BLPOPs it

On Redis Cluster the name is hash-tagged so both keys share a slot (the release script
touches both): ``lock:{<name>}`` and ``lock.event:{<name>}`` (a name that already holds a
``{tag}`` is used as is). Single-server layouts are unchanged.

A blocked ``acquire`` waits on BLPOP, never in a sleep loop. Each wait lasts at most the
holder's remaining ttl (read atomically with the failed attempt), so a lock that expires
instead of being released is picked up as soon as it expires, also for ttls under a second
(upstream walrus blocked forever there).
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import events
from .cluster import tag_name
from .exceptions import WalrusError
from .retry import OutcomeUnknownError
from .steps import Steps, drive

if TYPE_CHECKING:
    from .database import Database
    from .lock_renewal import LockRenewer

__all__ = [
    "HeldLock",
    "Lock",
    "LockError",
    "LockExpired",
    "LockNotOwned",
    "clear_locks",
    "held_locks",
]

F = TypeVar("F", bound=Callable[..., Any])

# Returned by lock_acquire.lua when the lock was taken.
_TAKEN = -3


class LockError(WalrusError, RuntimeError):
    """Base class of lock errors (also a RuntimeError, which upstream walrus raised)."""


class LockNotOwned(LockError):  # noqa: N818  public name, exported by walrus
    """``release``/``extend`` by a caller whose token does not hold the lock."""


class LockExpired(LockNotOwned):
    """``release``/``extend`` of a lock nobody holds: it expired, was released or cleared."""


def _check_name(name: Any) -> str | bytes:
    if isinstance(name, bool) or not isinstance(name, (str, bytes)):
        raise TypeError(f"lock name must be str or bytes, got {type(name).__name__}")
    if not name:
        raise ValueError("lock name must not be empty")
    return name


def _check_ttl(ttl: Any) -> int | None:
    """Milliseconds as a positive int, or None (no expiry). 0 means no expiry, as upstream."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(
            f"ttl must be an int number of milliseconds or None, got {type(ttl).__name__}"
        )
    if not math.isfinite(ttl) or ttl < 0:
        raise ValueError(f"ttl must be a non-negative number of milliseconds, got {ttl!r}")
    return math.ceil(ttl) or None


def _check_acquire_args(block: Any, timeout: Any) -> None:
    if not isinstance(block, bool):
        raise TypeError(f"block must be True or False, got {type(block).__name__}")
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None, got {type(timeout).__name__}"
        )
    if not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
    if not block:
        raise ValueError("timeout needs block=True")


def _check_ms(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of milliseconds, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number of milliseconds, got {value!r}")
    return math.ceil(value)


def next_wait(left: int, cap: float, deadline: float | None) -> float | None:
    """Seconds to wait for a wake-up after a failed attempt: the holder's time ``left`` (ms;
    negative: unknown or unlimited) capped at ``cap``, and by what is left before
    ``deadline`` (``time.monotonic()``); None when the deadline has passed. No Redis work."""
    wait = cap if left < 0 else min(cap, left / 1000.0)
    if deadline is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        wait = min(wait, remaining)
    return wait


def wait_steps(
    emit: Callable[[str, float | None], None], cap: float, timeout: float | None
) -> Steps:
    """The waiting part of ``acquire`` as steps (``walrus.steps``): yields None for an atomic
    retry (the reply: ``_TAKEN`` or the holder's ms left) and a number of seconds to wait on
    the wake-up list (the reply is ignored); returns True when taken, False at the timeout.
    Reports "waited"/"timeout" through ``emit``. The sync and async locks drive it."""
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    while True:
        left = yield None
        if left == _TAKEN:
            emit("waited", started)
            return True
        wait = next_wait(left, cap, deadline)
        if wait is None:
            emit("timeout", started)
            return False
        yield wait


def release_result(name: Any, result: int, verb: str = "released") -> None:
    """Raise what a release/extend script's reply ``result`` means for lock ``name``:
    -1/-2 LockNotOwned, 0 LockExpired; nothing for success. No Redis work."""
    if result in (-1, -2):
        raise LockNotOwned(f"lock {name!r} is held by another owner; not {verb}")
    if result == 0:
        raise LockExpired(f"lock {name!r} is not held (expired, released or cleared)")


def wait_cap(options: dict[str, Any], max_wait: float) -> float:
    """The longest single BLPOP wait for a client with connection ``options``: ``max_wait``,
    shortened so the reply arrives before the socket's timeout. No Redis work."""
    socket_timeout = options.get("socket_timeout")
    if socket_timeout:
        # Leave the reply time to arrive before the socket gives up.
        return max(0.001, min(max_wait, float(socket_timeout) / 2))
    return max_wait


def lock_keys(database: Any, name: str | bytes) -> tuple[str | bytes, str | bytes]:
    """(lock key, wake-up list key) of lock ``name``: ``lock:<name>`` and
    ``lock.event:<name>``, hash-tagged on a cluster so both share a slot. No Redis work."""
    stored = tag_name(database, name)
    if isinstance(stored, bytes):
        return b"lock:" + stored, b"lock.event:" + stored
    return f"lock:{stored}", f"lock.event:{stored}"


def check_lock_id(lock_id: Any) -> str | bytes:
    """The owner token: ``lock_id`` checked, or a fresh uuid4 hex for None. No Redis work."""
    if lock_id is None:
        return uuid.uuid4().hex
    if isinstance(lock_id, bool) or not isinstance(lock_id, (str, bytes)):
        raise TypeError(f"lock_id must be str, bytes or None, got {type(lock_id).__name__}")
    if not lock_id:
        raise ValueError("lock_id must not be empty")
    return lock_id


def renew_ms(name: Any, own_ttl: int | None, ttl: Any) -> int:
    """The milliseconds ``renew(ttl)`` sets: ``ttl`` checked, else the lock's own ttl
    (ValueError when neither is set). No Redis work."""
    if ttl is None:
        if own_ttl is None:
            raise ValueError(f"lock {name!r} has no ttl: pass renew(ttl=milliseconds)")
        return own_ttl
    return _check_ms(ttl, "ttl")


class LockBase:
    """What ``Lock`` and ``walrus.asyncio.AsyncLock`` share: the checked name, ttl and owner
    token, and the keys (``lock_keys``). No Redis work."""

    #: Longest single BLPOP wait in seconds: bounds the wait on a lock deleted behind our
    #: back (no wake-up token is pushed then). Shortened to fit a client socket_timeout.
    max_wait: float = 5.0
    #: Lifetime of a wake-up token in milliseconds; 0: release() pushes none (waiters poll).
    wakeup_ttl: int = 10_000

    def __init__(
        self,
        database: Any,
        name: str | bytes,
        ttl: int | None = None,
        lock_id: str | bytes | None = None,
    ) -> None:
        self.name = _check_name(name)
        self.ttl = _check_ttl(ttl)
        self._lock_id: str | bytes = check_lock_id(lock_id)
        self.database = database
        self.key, self.event = lock_keys(database, self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ttl={self.ttl!r}>"


class Lock(LockBase):
    """A named lock; also a context manager and a decorator.

    ``ttl``: milliseconds after which an unreleased lock frees itself (None or 0: never).
    ``lock_id``: the owner token (default: a uuid4 hex); two ``Lock`` objects with the same
    name and token are the same owner.

    >>> lock = db.lock("reports", ttl=5000)
    >>> with lock:
    ...     build_report()
    """

    database: Database

    def __init__(
        self,
        database: Database,
        name: str | bytes,
        ttl: int | None = None,
        lock_id: str | bytes | None = None,
    ) -> None:
        super().__init__(database, name, ttl, lock_id)

    # -- acquire / release -------------------------------------------------------------

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; True when taken.

        ``block=False``: one attempt, False when held. ``block=True``: wait until it is
        released or expires, or ``timeout`` seconds pass (None = no limit), then False.

        Cost: 1 round trip when free (SET NX PX). While held, each wait costs 2 round trips
        (an atomic retry that also reads the holder's remaining ttl, then a BLPOP on the
        wake-up list lasting at most that ttl). When the reply of an attempt is lost (the
        connection dropped after sending), one GET settles it: the key holds this Lock's
        token exactly when the attempt took the lock, so no OutcomeUnknownError escapes.
        """
        _check_acquire_args(block, timeout)
        try:
            taken = self.database.set(self.key, self._lock_id, nx=True, px=self.ttl)
        except OutcomeUnknownError as unknown:
            taken = self._settle(unknown)
        if taken:
            self._emit("acquired")
            return True
        if not block:
            self._emit("timeout")
            return False
        return self._wait_and_retry(timeout)

    def _wait_and_retry(self, timeout: float | None) -> bool:
        """The blocking part of ``acquire``: retry after each wake-up (or the holder's ttl)
        until the lock is taken (True) or ``timeout`` seconds pass (False). 2 round trips
        per wait."""
        return bool(drive(wait_steps(self._emit, self._wait_cap(), timeout), self._wait_step))

    def _wait_step(self, wait: float | None) -> int | None:
        """One step of ``wait_steps``: an atomic retry (None) or a wait on the wake-up list."""
        if wait is None:
            return self._retry()
        self._await_wakeup(wait)
        return None

    def _retry(self) -> int:
        """One atomic attempt (lock_acquire.lua): ``_TAKEN`` when it took the lock, else the
        holder's time left in ms (negative when that is unknown or unlimited). 1 round trip,
        plus a GET when the reply is lost."""
        try:
            return int(
                self.database.run_script(
                    "lock_acquire", keys=[self.key], args=[self._lock_id, self.ttl or 0]
                )
            )
        except OutcomeUnknownError as unknown:
            return _TAKEN if self._settle(unknown) else -1

    def _await_wakeup(self, wait: float) -> None:
        """Block up to ``wait`` seconds on the wake-up list (BLPOP, 1 round trip)."""
        # BLPOP takes seconds with millisecond resolution; 0 would mean "forever".
        try:
            self.database.blpop([self.event], timeout=max(round(wait, 3), 0.001))
        except OutcomeUnknownError:
            pass  # a wake-up token may be lost with the reply: the next attempt decides

    def _emit(self, outcome: str, started: float | None = None) -> None:
        """Report an acquire ``outcome`` to event listeners, with the seconds waited since
        ``started`` (0.0 without). No Redis work; nothing is computed without listeners."""
        if events.listeners:
            waited = 0.0 if started is None else time.monotonic() - started
            events.emit("lock", self.name, outcome, waited)

    def _settle(self, unknown: OutcomeUnknownError) -> bool:
        """After a lost reply of an attempt to take the lock: whether it took it. The token
        is this Lock's own, so the key holding it means the attempt ran (1 round trip, a GET,
        resent safely). When the server cannot be reached for that either, ``unknown`` is
        raised: the outcome stays unknown (the lock, if taken, expires with its ttl)."""
        try:
            return self.owned()
        except (RedisConnectionError, RedisTimeoutError):
            raise unknown from None

    def release(self) -> bool:
        """Release the lock held by this token and wake one waiter; returns True.

        Raises LockNotOwned when another token holds it and LockExpired when nobody does
        (it expired, or was released or cleared); nothing is changed then.
        Cost: 1 round trip (one Lua script).
        """
        result = int(
            self.database.run_script(
                "lock_release", keys=[self.key, self.event], args=[self._lock_id, self.wakeup_ttl]
            )
        )
        release_result(self.name, result)
        return True

    def extend(self, additional_ms: int) -> int | None:
        """Add ``additional_ms`` milliseconds to the time left of the lock this token holds.

        Returns the new time left in ms (None for a lock without expiry, which keeps none).
        Raises LockNotOwned / LockExpired as ``release``. Cost: 1 round trip (Lua).
        """
        return self._extend(_check_ms(additional_ms, "additional_ms"), "add")

    def renew(self, ttl: int | None = None) -> int:
        """Restart the expiry of the lock this token holds: it now expires ``ttl`` ms from
        now (default: the lock's own ttl). Returns that ttl.

        Raises ValueError when neither is set, LockNotOwned / LockExpired as ``release``.
        Cost: 1 round trip (Lua).
        """
        result = self._extend(renew_ms(self.name, self.ttl, ttl), "set")
        assert result is not None
        return result

    def keep_alive(self, interval: float | None = None) -> LockRenewer:
        """Renew this lock every ``interval`` seconds (default: a third of its ttl) while a
        long job runs, from one shared daemon thread: ``with lock, lock.keep_alive(): ...``
        (or ``.start()`` / ``.stop()``). The renewer's ``lost`` turns True, and renewing
        stops, when the lock was lost meanwhile (expired during a stall, or cleared): check it
        before committing work that needed the lock. A failed renewal (server unreachable) is
        logged and tried again at the next interval. The lock must have a ttl (ValueError
        otherwise). Cost: 1 round trip (Lua) per renewal; no thread start per call."""
        from .lock_renewal import LockRenewer  # it imports this module

        return LockRenewer(self, interval)

    def _extend(self, ms: int, mode: str) -> int | None:
        result = int(
            self.database.run_script("lock_extend", keys=[self.key], args=[self._lock_id, ms, mode])
        )
        if result != -1:  # -1: held without expiry (extend's "none kept")
            release_result(self.name, result, "extended")
        return None if result == -1 else result

    def clear(self) -> bool:
        """Force the lock free whoever holds it and wake a waiter (deadlock recovery only;
        use ``release`` otherwise). True when it was held. Cost: 1 round trip (Lua)."""
        return bool(
            self.database.run_script(
                "lock_clear", keys=[self.key, self.event], args=[self.wakeup_ttl]
            )
        )

    # -- queries -----------------------------------------------------------------------

    def locked(self) -> bool:
        """Whether anyone holds the lock. Cost: 1 round trip (EXISTS)."""
        return bool(self.database.exists(self.key))

    def owned(self) -> bool:
        """Whether this token holds the lock. Cost: 1 round trip (GET)."""
        holder = self.database.get(self.key)
        token = self._lock_id.encode() if isinstance(self._lock_id, str) else self._lock_id
        return holder == token

    def time_left(self) -> int | None:
        """Milliseconds before the lock expires: 0 when not held, None when held without
        expiry. Cost: 1 round trip (PTTL)."""
        left = int(self.database.pttl(self.key))
        if left == -2:
            return 0
        return None if left == -1 else left

    # -- context manager and decorator ---------------------------------------------------

    def __enter__(self) -> Lock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.release()
        except LockError:
            # The lock was lost (expired) inside the block: say so, unless the block
            # itself failed, whose error is the one worth seeing.
            if exc_type is None:
                raise

    def __call__(self, fn: F) -> F:
        """Decorate ``fn`` so each call runs while holding the lock."""

        @functools.wraps(fn)
        def locked_call(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return locked_call  # type: ignore[return-value]

    def _wait_cap(self) -> float:
        options = getattr(self.database, "connection_options", None)
        if options is None:  # a plain redis-py client
            options = self.database.connection_pool.connection_kwargs
        return wait_cap(options, self.max_wait)


@dataclass(frozen=True)
class HeldLock:
    """A lock someone holds: ``name`` as given to ``Lock``, the ``owner`` token, the
    seconds left before it expires (None: no expiry) and the Redis ``key`` it is stored at
    (``lock:<name>``; ``lock:{<name>}`` on a cluster)."""

    name: str
    owner: str
    ttl: float | None
    key: str


def held_locks(database: Database, prefix: str = "", page: int = 500) -> list[HeldLock]:
    """Every held lock whose name starts with ``prefix``, sorted by name.

    Cost: one round trip per SCAN page (every primary on a cluster) plus one pipelined
    GET + PTTL per ``page`` locks. Wake-up lists are not locks and are not listed.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    from .keyspace import escape_glob, iter_matching

    cluster = bool(getattr(database, "is_cluster", False))
    # On a cluster the name is stored as "{name}": match both spellings of the prefix.
    patterns = ["lock:" + escape_glob(prefix) + "*"]
    if cluster:
        patterns.append("lock:{" + escape_glob(prefix) + "*")
    keys = list(iter_matching(database, patterns, batch=page))
    found: list[HeldLock] = []
    for start in range(0, len(keys), page):
        chunk = keys[start : start + page]
        pipe = database.pipeline(transaction=False)
        for key in chunk:
            pipe.get(key)
            pipe.pttl(key)
        replies = pipe.execute()
        for index, key in enumerate(chunk):
            owner, left = replies[2 * index], int(replies[2 * index + 1])
            if owner is None or left == -2:
                continue  # released between SCAN and GET
            name = key.decode("utf-8", "replace")[len("lock:") :]
            if cluster and name.startswith("{") and name.endswith("}"):
                name = name[1:-1]
            if not name.startswith(prefix):
                continue
            token = owner.decode("utf-8", "replace") if isinstance(owner, bytes) else str(owner)
            found.append(
                HeldLock(
                    name,
                    token,
                    None if left == -1 else left / 1000.0,
                    key.decode("utf-8", "replace"),
                )
            )
    return sorted(found, key=lambda held: held.name)


def clear_locks(database: Database, names: Iterable[str], page: int = 500) -> int:
    """Force free the locks named ``names`` (whoever holds them; waiters are woken), in
    pipelined batches; returns how many were held. Cost: 1 round trip per ``page`` names
    (one ``lock_clear`` script each, pipelined; on a cluster one round trip per node)."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError(f"page must be an int >= 1, got {page!r}")
    locks = [Lock(database, name) for name in names]  # names checked before anything is sent
    cleared = 0
    for start in range(0, len(locks), page):
        pipe = database.pipeline(transaction=False)
        for lock in locks[start : start + page]:
            database.run_script(
                "lock_clear", keys=[lock.key, lock.event], args=[lock.wakeup_ttl], client=pipe
            )
        cleared += sum(int(reply) for reply in pipe.execute())
    return cleared
