"""Pub/sub listeners and the MONITOR log behind ``Database.listener`` and ``Database.stream_log``.

``make_listener`` builds the decorator: the decorated function is called as
``fn(type=..., pattern=..., channel=..., data=...)`` for each message published on the
channels / patterns, until it raises ``StopIteration``. Calling the decorated function starts
listening; it returns once the subscriptions are confirmed by the server (so nothing
published afterwards is missed):

* synchronous: it then blocks, handling messages, and returns None when ``fn`` stops it (an
  exception ``fn`` raises propagates);
* ``is_async=True``: it returns a started daemon ``ListenerThread``; ``thread.stop()`` ends
  it, ``thread.exception`` holds what ``fn`` raised, if anything.

Subscription confirmations are not passed to ``fn`` (upstream walrus passed them too).
Either way the pub/sub connection is closed when listening ends.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.connection import ConnectionPool
from redis.exceptions import ResponseError

from .exceptions import WalrusError

if TYPE_CHECKING:  # pragma: no cover
    from redis.client import PubSub

    from .database import Database

__all__ = [
    "ListenerThread",
    "ListenerTypeError",
    "ListenerValueError",
    "MonitorRefusedError",
    "MonitorUnavailableError",
    "make_listener",
    "stream_log",
]

logger = logging.getLogger(__name__)

_POOL_NEEDS_COMMAND = (
    inspect.signature(ConnectionPool.get_connection).parameters["command_name"].default
    is inspect.Parameter.empty
)

# How long a listener waits for each message before checking whether it was stopped (s).
POLL_INTERVAL = 0.05
# How long to wait for the server to confirm the subscriptions (s).
SUBSCRIBE_TIMEOUT = 10.0


class ListenerTypeError(WalrusError, TypeError):
    """A channel, pattern or callback of the wrong type."""


class ListenerValueError(WalrusError, ValueError):
    """An unusable listener argument (e.g. neither channels nor patterns)."""


class MonitorUnavailableError(WalrusError):
    """``stream_log`` cannot run MONITOR on this Database: the ``memory://`` engine has no
    MONITOR, a Redis Cluster client has no single server to monitor, or the server refused
    the command (e.g. an ACL without ``+monitor``)."""


class MonitorRefusedError(MonitorUnavailableError, ResponseError):
    """The server refused MONITOR (e.g. an ACL without ``+monitor``): still a redis-py
    ``ResponseError``, as the server's refusal is, so ``except ResponseError`` catches it."""


def _names(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    items = [value] if isinstance(value, (str, bytes)) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise ListenerTypeError(
            f"{what} must be a name or a list of names, got {type(value).__name__}"
        )
    result: list[Any] = []
    for item in items:
        if not isinstance(item, (str, bytes)) or not item:
            raise ListenerTypeError(f"{what} must be non-empty str or bytes, got {item!r}")
        if item not in result:
            result.append(item)
    return result


def _subscribe(pubsub: PubSub, channels: list[Any], patterns: list[Any]) -> list[dict[str, Any]]:
    """Subscribe and wait for every confirmation; returns messages that arrived meanwhile."""
    if channels:
        pubsub.subscribe(*channels)
    if patterns:
        pubsub.psubscribe(*patterns)
    expected = len(channels) + len(patterns)
    confirmed = 0
    early: list[dict[str, Any]] = []
    deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
    while confirmed < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the server did not confirm the subscriptions within {SUBSCRIBE_TIMEOUT}s"
            )
        message = pubsub.get_message(timeout=POLL_INTERVAL)
        if message is None:
            continue
        if message["type"] in ("subscribe", "psubscribe"):
            confirmed += 1
        else:
            early.append(message)
    return early


def _close(pubsub: PubSub) -> None:
    """Unsubscribe (without waiting for replies) and close the pub/sub connection.

    Closing alone is enough on a real server; the explicit unsubscribe also frees pattern
    subscriptions on the ``memory://`` engine, which keeps them after a close."""
    try:
        if pubsub.connection is not None:
            if pubsub.channels:
                pubsub.unsubscribe()
            if pubsub.patterns:
                pubsub.punsubscribe()
    except Exception:  # noqa: BLE001 - best effort: the connection is closed next anyway
        logger.debug("unsubscribe before close failed", exc_info=True)
    finally:
        pubsub.close()


def _is_data(message: dict[str, Any]) -> bool:
    return message.get("type") in ("message", "pmessage")


def _listen(
    pubsub: PubSub,
    fn: Callable[..., Any],
    early: list[dict[str, Any]],
    stop: threading.Event | None,
) -> None:
    """Feed messages to ``fn`` until it raises StopIteration or ``stop`` is set."""
    try:
        for message in early:
            if _is_data(message):
                fn(**message)
        while stop is None or not stop.is_set():
            message = pubsub.get_message(timeout=POLL_INTERVAL)
            if message is not None and _is_data(message):
                fn(**message)
    except StopIteration:
        return
    finally:
        _close(pubsub)


class ListenerThread(threading.Thread):
    """The daemon thread of an ``is_async`` listener. ``stop()`` ends it."""

    def __init__(self, pubsub: PubSub, fn: Callable[..., Any], early: list[dict[str, Any]]) -> None:
        super().__init__(name=f"walrus-listener-{getattr(fn, '__name__', 'fn')}", daemon=True)
        self._pubsub = pubsub
        self._fn = fn
        self._early = early
        self._stop_event = threading.Event()
        self.exception: BaseException | None = None

    def run(self) -> None:
        """The thread's body: listen until stopped, keeping the exception that ended it in
        ``exception``. One connection of its own, held while it listens; messages arrive without
        further round trips."""
        try:
            _listen(self._pubsub, self._fn, self._early, self._stop_event)
        except Exception as exc:  # noqa: BLE001 - kept for the caller, and logged
            self.exception = exc
            logger.exception("pub/sub listener %s raised", self.name)

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Ask the listener to stop and wait up to ``timeout`` seconds; True once it ended. No
        Redis work."""
        self._stop_event.set()
        if threading.current_thread() is not self:
            self.join(timeout)
        return not self.is_alive()


def make_listener(
    database: Database, channels: Any = None, patterns: Any = None, is_async: bool = False
) -> Callable[[Callable[..., Any]], Callable[[], ListenerThread | None]]:
    """The decorator behind ``Database.listener`` (see the module docstring).

    Channels and patterns are checked here, before anything is sent.
    No Redis work until the returned function starts listening (SUBSCRIBE / PSUBSCRIBE: 1 round
    trip, then one connection held).
    """
    channel_names = _names(channels, "channels")
    pattern_names = _names(patterns, "patterns")
    if not channel_names and not pattern_names:
        raise ListenerValueError("listener needs at least one channel or pattern")

    def decorator(fn: Callable[..., Any]) -> Callable[[], ListenerThread | None]:
        if not callable(fn):
            raise ListenerTypeError(f"listener decorates a callable, got {type(fn).__name__}")

        @functools.wraps(fn)
        def start() -> ListenerThread | None:
            pubsub = database.pubsub()
            try:
                early = _subscribe(pubsub, channel_names, pattern_names)
            except BaseException:
                _close(pubsub)
                raise
            if is_async:
                thread = ListenerThread(pubsub, fn, early)
                thread.start()
                return thread
            _listen(pubsub, fn, early, None)
            return None

        return start

    return decorator


def stream_log(
    database: Database, callback: Callable[[Any], Any], connection_id: str = "monitor"
) -> None:
    """Run MONITOR and pass each logged command line (as the server sends it, e.g.
    ``b'1700000000.123456 [0 127.0.0.1:5000] "SET" "k" "v"'``) to ``callback`` until it
    returns False or raises StopIteration. Blocks meanwhile.

    The monitoring connection is taken from the pool and, since a connection in MONITOR mode
    cannot run other commands, disconnected and handed back when done (also on errors).
    ``connection_id`` is accepted for compatibility; redis-py pools no longer name connections.
    Raises MonitorUnavailableError, before anything is sent, on the ``memory://`` engine and
    on a Redis Cluster client, and when the server refuses MONITOR.
    One connection held in MONITOR mode (1 round trip to start it) while it runs.
    """
    if not callable(callback):
        raise ListenerTypeError(f"stream_log needs a callable, got {type(callback).__name__}")
    if getattr(database, "is_cluster", False):
        raise MonitorUnavailableError(
            "stream_log needs MONITOR, which is not available on a Redis Cluster client: "
            "monitor one node with a Database for it, e.g. Database.from_url('redis://host:port')"
        )
    if database.is_embedded:
        raise MonitorUnavailableError(
            "stream_log needs MONITOR, which is not available on the memory:// engine"
        )
    pool = database.connection_pool
    # redis-py 5.0-5.2 require a command name here; later releases deprecate passing one.
    # Any: redis-py's connection methods (send_command, disconnect) are unannotated.
    connection: Any = (
        pool.get_connection("MONITOR") if _POOL_NEEDS_COMMAND else pool.get_connection()
    )
    try:
        connection.send_command("MONITOR")
        try:
            reply = connection.read_response()
        except ResponseError as exc:
            raise MonitorRefusedError(f"the server refused MONITOR: {exc}") from exc
        if reply not in (b"OK", "OK", True):
            raise MonitorRefusedError(f"the server refused MONITOR: {reply!r}")
        while True:
            line = connection.read_response()
            try:
                if callback(line) is False:
                    return
            except StopIteration:
                return
    finally:
        connection.disconnect()
        pool.release(connection)
