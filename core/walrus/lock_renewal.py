"""Keep a held lock alive while its job runs: renewed every ttl/3 by a daemon thread
(``Lock.keep_alive()``; the Celery integration renews task locks with it).

A long job keeps its lock however long it runs; a process that dies (SIGKILL, OOM, power)
stops renewing, so its lock expires at most one ttl after the last renewal: hold a short lease
(a ttl of a few renewal intervals) for that reason. Renewal is owner-checked (``Lock.renew``,
one Lua round trip): a lock that was lost (expired during a long stall, or cleared by an
operator) is never re-created; the renewer notes it (``lost``) and stops.

One daemon thread per process serves every running task (a heap of due times), so starting
and stopping a renewer costs no thread start; after a fork the child starts its own thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from types import TracebackType
from typing import Any

from redis.exceptions import RedisError

from .lock import Lock, LockError

__all__ = ["LockRenewer", "renewal_interval", "renewal_outcome"]

logger = logging.getLogger("walrus.lock")


class _Scheduler:
    """The per-process renewal thread and its heap of (due time, seq, renewer)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, LockRenewer]] = []
        self.seq = itertools.count()
        self.thread: threading.Thread | None = None
        self.pid = 0

    def add(self, renewer: LockRenewer) -> None:
        with self.cond:
            if self.pid != os.getpid() or self.thread is None or not self.thread.is_alive():
                if self.pid != os.getpid():
                    self.heap = []  # entries inherited through fork belong to the parent
                self.pid = os.getpid()
                self.thread = threading.Thread(
                    target=self._run, name="walrus-lock-renewal", daemon=True
                )
                self.thread.start()
            heapq.heappush(
                self.heap, (time.monotonic() + renewer.interval, next(self.seq), renewer)
            )
            self.cond.notify_all()

    def _next(self) -> LockRenewer:
        with self.cond:
            while True:
                while self.heap and self.heap[0][2]._stopped:
                    heapq.heappop(self.heap)
                now = time.monotonic()
                if self.heap and self.heap[0][0] <= now:
                    renewer = heapq.heappop(self.heap)[2]
                    renewer._busy = True
                    return renewer
                self.cond.wait(self.heap[0][0] - now if self.heap else None)

    def _run(self) -> None:
        while True:
            renewer = self._next()
            keep = False
            try:
                keep = renewer._renew_once()
            finally:
                with self.cond:
                    renewer._busy = False
                    if keep and not renewer._stopped:
                        due = time.monotonic() + renewer.interval
                        heapq.heappush(self.heap, (due, next(self.seq), renewer))
                    self.cond.notify_all()


_scheduler = _Scheduler()


class LockRenewer:
    """Renew ``lock`` (which must have a ttl) every ``interval`` seconds until ``stop()``.

    ``interval`` defaults to a third of the lock's ttl. ``lost`` becomes True when a renewal
    finds the lock gone or held by someone else; renewing then ends.
    Cost: 1 round trip per renewal.
    """

    def __init__(self, lock: Lock, interval: float | None = None) -> None:
        self.lock = lock
        self.interval = renewal_interval(lock, interval)
        self.renewals = 0
        self.lost = False
        self._started = False
        self._stopped = False
        self._busy = False

    def start(self) -> LockRenewer:
        """Schedule the renewals (once); returns self. No Redis work here; each renewal is then 1
        round trip, sent from the shared renewal thread."""
        if not self._started:
            self._started = True
            _scheduler.add(self)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop renewing. A renewal already on the wire is waited for (at most ``timeout``
        seconds), so none follows ``stop()``. No Redis work."""
        deadline = time.monotonic() + timeout
        with _scheduler.cond:
            self._stopped = True
            while self._busy and threading.current_thread() is not _scheduler.thread:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                _scheduler.cond.wait(left)

    def __enter__(self) -> LockRenewer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._started and not self._stopped and not self.lost

    def _renew_once(self) -> bool:
        """One renewal; False when renewing should end."""
        if self._stopped:
            return False
        try:
            self.lock.renew()
        except (LockError, RedisError) as exc:
            return renewal_outcome(self, exc)
        return renewal_outcome(self, None)


def renewal_interval(lock: Any, interval: float | None) -> float:
    """The renewal interval in seconds: ``interval``, or a third of the lock's ttl.
    ValueError for a lock without ttl or an interval that is not a positive number. No
    Redis work."""
    if lock.ttl is None:
        raise ValueError(f"lock {lock.name!r} has no ttl: there is nothing to renew")
    if interval is None:
        interval = lock.ttl / 3000.0
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    return float(interval)


def renewal_outcome(renewer: Any, error: BaseException | None) -> bool:
    """Record one renewal's outcome on ``renewer`` (``renewals``, ``lost``, a log line);
    False when renewing should end (the lock was lost). No Redis work."""
    if isinstance(error, LockError):
        renewer.lost = True
        logger.warning("walrus: lock %r lost while held: %s", renewer.lock.name, error)
        return False
    if error is not None:
        # Keep trying: the lock survives until its ttl (3 intervals by default).
        logger.warning("walrus: could not renew lock %r: %s", renewer.lock.name, error)
        return True
    renewer.renewals += 1
    return True
