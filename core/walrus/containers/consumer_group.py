"""``ConsumerGroup`` and ``ConsumerGroupStream``: Redis stream consumer groups.

A ``ConsumerGroup`` names a group, the streams it reads and the consumer reading. Each stream
is reachable as an attribute named after its key (``cg.stream_1`` for ``stream-1``, see
``walrus.utils.make_python_attr``) and through ``cg.stream(key)``; both give a
``ConsumerGroupStream`` with the per-stream commands (XACK, XCLAIM, XPENDING ...).

``read`` is one XREADGROUP over every stream: on Redis Cluster a group's streams must share
a hash slot (a common ``{tag}``), or ``walrus.cluster.CrossSlotError`` names them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from ..calls import Batch, Call, call
from ..cluster import check_same_slot
from ..utils import decode, encode, make_python_attr
from .base import is_async_client
from .errors import ContainerTypeError, ContainerValueError, WrongTypeError, wrong_type_steps
from .running import Returns, command
from .streams import (
    Stream,
    StreamNotFoundError,
    _check_optional,
    check_count,
    check_stream_id,
    normalize_entries,
    normalize_xread,
    translate_stream_error,
    translated,
    xread_call,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["ConsumerGroup", "ConsumerGroupStream"]


def _check_name(owner: Any, value: Any, what: str) -> Any:
    if not isinstance(value, (str, bytes)):
        raise ContainerTypeError(
            f"{owner}: {what} must be str or bytes, got {type(value).__name__}"
        )
    if not value:
        raise ContainerValueError(f"{owner}: {what} must not be empty")
    return value


def _normalize_stream_keys(keys: Any, default_id: str = "0-0") -> dict[Any, Any]:
    """Upstream's helper: a stream key, a list of keys or a key -> id mapping as a mapping of
    key -> start id (``default_id`` where none is given). No Redis call."""
    if isinstance(keys, (str, bytes)):
        return {keys: default_id}
    if isinstance(keys, (list, tuple)):
        return {key: default_id for key in keys}
    if isinstance(keys, Mapping):
        return dict(keys)
    raise ContainerTypeError(
        "keys must be a stream key, a list of stream keys or a mapping of key to minimum "
        f"message id, got {type(keys).__name__}"
    )


class ConsumerGroupStream(Stream):
    """One stream seen through a consumer group (and one consumer of it).

    Created by ``ConsumerGroup``; every method is one round trip (on an asyncio client, an
    awaitable).
    """

    def __init__(self, database: Database, group: Any, key: Any, consumer: Any) -> None:
        super().__init__(database, key)
        self.group = _check_name(type(self).__name__, group, "group name")
        self._consumer = _check_name(type(self).__name__, consumer, "consumer name")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {decode(self.key)!r} group={decode(self.group)!r}>"

    @property
    def consumer_name(self) -> Any:
        """The consumer this object reads, claims and acknowledges as."""
        return self._consumer

    @command
    @translated
    def ack(self, *id_list: Any) -> Returns[int]:
        """XACK: mark messages processed; returns how many were pending. 1 round trip (none
        without ids)."""
        ids = [self._to_id(value, "id") for value in id_list]
        if not ids:
            return 0
        return int((yield call.xack(self.key, self.group, *ids)))

    @command
    @translated
    def claim(self, *id_list: Any, min_idle_time: int = 0) -> Returns[list[Any]]:
        """XCLAIM pending messages for this consumer (only those idle for at least
        ``min_idle_time`` ms); returns the claimed ``(id, data)`` pairs. 1 round trip."""
        ids: list[Any] = [self._to_id(value, "id") for value in id_list]
        idle = check_count(self, min_idle_time, "min_idle_time", 0)
        if not ids:
            return []
        reply = yield call.xclaim(self.key, self.group, self._consumer, idle, ids)
        return self._entries(reply)

    @command
    @translated
    def autoclaim(
        self,
        min_idle_time: int,
        start_id: Any = "0-0",
        count: int | None = None,
        justid: bool = False,
    ) -> Returns[tuple[Any, list[Any], list[Any]]]:
        """XAUTOCLAIM pending messages idle for ``min_idle_time`` ms or more, scanning from
        ``start_id``. Returns ``(next start id, claimed messages (ids with justid), ids of
        messages deleted meanwhile)``. 1 round trip."""
        idle = check_count(self, min_idle_time, "min_idle_time", 0)
        start = self._to_id(start_id, "start_id")
        limit = _check_optional(self, count, "count", 1)
        reply = yield call.xautoclaim(
            self.key, self.group, self._consumer, idle, start, count=limit, justid=justid
        )
        if justid:
            # redis-py returns only the claimed ids for JUSTID.
            return (None, [self._from_id(mid) for mid in reply], [])
        next_id = self._from_id(reply[0])
        claimed = self._entries(reply[1])
        deleted = [self._from_id(mid) for mid in reply[2]] if len(reply) > 2 else []
        return (next_id, claimed, deleted)

    @command
    def pending(
        self,
        start: Any = "-",
        stop: Any = "+",
        count: int = 1000,
        consumer: Any = None,
        idle: int | None = None,
    ) -> Returns[list[dict[str, Any]]]:
        """XPENDING: the delivered-but-unacknowledged messages, oldest first, as dicts with
        ``message_id``, ``consumer``, ``time_since_delivered`` (ms) and ``times_delivered``.
        ``consumer`` restricts to one consumer, ``idle`` to messages idle that many ms.
        1 round trip."""
        return (yield from self._pending_steps(start, stop, count, consumer, idle))

    @translated
    def _pending_steps(
        self, start: Any, stop: Any, count: int, consumer: Any, idle: int | None
    ) -> Returns[list[dict[str, Any]]]:
        # Shared with TimeSeriesStream.pending, which reshapes the rows.
        low = self._to_id(start, "start", ("-", "+"), exclusive=True)
        high = self._to_id(stop, "stop", ("-", "+"), exclusive=True)
        limit = check_count(self, count, "count", 1)
        min_idle = _check_optional(self, idle, "idle", 0)
        if consumer is not None:
            _check_name(repr(self), consumer, "consumer")
        rows = yield call.xpending_range(
            self.key, self.group, low, high, limit, consumername=consumer, idle=min_idle
        )
        return [dict(row) for row in rows]

    @command
    @translated
    def read(
        self, count: int | None = None, block: int | None = None, last_id: Any = None
    ) -> Returns[list[Any]]:
        """XREADGROUP for this stream: by default (``last_id`` ``>``) messages never delivered
        to the group; with an id, this consumer's own pending messages after it. ``block``
        waits up to that many ms (0 = forever). 1 round trip."""
        after = self._to_id(">" if last_id is None else last_id, "last_id", (">",))
        limit = _check_optional(self, count, "count", 1)
        wait = _check_optional(self, block, "block", 0)
        reply = yield xread_call({self.key: after}, limit, wait, self.group, self._consumer)
        for _key, entries in normalize_xread(reply):
            return [self._entry(mid, data) for mid, data in entries]
        return []

    @command
    @translated
    def set_id(self, id: Any = "$") -> Returns[bool]:  # noqa: A002
        """XGROUP SETID: the group's last-delivered id on this stream (``$`` = everything so
        far counts as read, ``0-0`` = read again from the start). 1 round trip."""
        return bool((yield call.xgroup_setid(self.key, self.group, self._to_id(id, "id", ("$",)))))

    @command
    @translated
    def consumers_info(self) -> Returns[list[dict[Any, Any]]]:  # type: ignore[override]
        """XINFO CONSUMERS of this group on this stream. 1 round trip."""
        return [dict(item) for item in (yield call.xinfo_consumers(self.key, self.group))]

    @command
    @translated
    def delete_consumer(self, consumer: Any = None) -> Returns[int]:
        """XGROUP DELCONSUMER (default: this consumer); returns how many messages it still
        had pending (they are no longer pending for anyone). 1 round trip."""
        name = self._consumer if consumer is None else _check_name(repr(self), consumer, "consumer")
        return int((yield call.xgroup_delconsumer(self.key, self.group, name)))


class ConsumerGroup:
    """A consumer group over one or more streams.

    ``keys`` is a stream key, a list of keys, or a mapping of key -> id the group starts
    after (exclusive; default ``0-0`` = every message, ``$`` = only new ones). ``consumer``
    defaults to ``"<group>.c1"``. Creating the object sends nothing; call ``create()``.
    On an ``AsyncDatabase`` every method that talks to Redis returns an awaitable.
    """

    stream_class: type[ConsumerGroupStream] = ConsumerGroupStream

    @property
    def stream_key_class(self) -> type[ConsumerGroupStream]:
        """Upstream's name for ``stream_class``."""
        return self.stream_class

    def __init__(self, database: Database, name: Any, keys: Any, consumer: Any = None) -> None:
        label = type(self).__name__
        self.database = database
        self._async = is_async_client(database)
        self.name = _check_name(label, name, "group name")
        self._consumer = (
            f"{decode(name)}.c1"
            if consumer is None
            else _check_name(label, consumer, "consumer name")
        )
        self.keys = self._normalize_keys(keys)
        self.streams: dict[Any, ConsumerGroupStream] = {}
        for key in self.keys:
            self.streams[key] = self.stream_class(database, self.name, key, self._consumer)
        attrs = Counter(make_python_attr(key) for key in self.keys)
        for key, stream in self.streams.items():
            attr = make_python_attr(key)
            # Keys whose attribute would be ambiguous or hide a method stay reachable through
            # ``stream(key)`` only.
            if attrs[attr] == 1 and attr.isidentifier() and not hasattr(type(self), attr):
                setattr(self, attr, stream)

    def __repr__(self) -> str:
        keys = ", ".join(repr(decode(k)) for k in getattr(self, "keys", ()))
        consumer = decode(self._consumer)
        return f"<{type(self).__name__} {decode(self.name)!r} [{keys}] consumer={consumer!r}>"

    def _to_id(self, value: Any, what: str, specials: tuple[str, ...] = ()) -> str:
        return check_stream_id(self, value, what, specials)

    def _normalize_keys(self, keys: Any) -> dict[Any, str]:
        label = type(self).__name__
        if isinstance(keys, (str, bytes)):
            pairs: list[tuple[Any, Any]] = [(keys, "0-0")]
        elif isinstance(keys, Mapping):
            pairs = list(keys.items())
        elif isinstance(keys, (list, tuple)):
            pairs = [(key, "0-0") for key in keys]
        else:
            raise ContainerTypeError(
                f"{label}: keys must be a stream key, a list of keys or a key -> id mapping, "
                f"got {type(keys).__name__}"
            )
        if not pairs:
            raise ContainerValueError(f"{label}: keys must name at least one stream")
        result: dict[Any, str] = {}
        seen: set[bytes] = set()
        for key, start in pairs:
            _check_name(label, key, "stream key")
            if encode(key) in seen:
                raise ContainerValueError(f"{label}: stream key {decode(key)!r} is listed twice")
            seen.add(encode(key))
            result[key] = self._to_id(start, f"start id of stream {decode(key)!r}", ("$",))
        return result

    @property
    def consumer_name(self) -> Any:
        """The consumer name this group object reads as."""
        return self._consumer

    def stream(self, key: Any) -> ConsumerGroupStream:
        """The ``ConsumerGroupStream`` for ``key`` (KeyError when the group does not read it). No
        Redis work."""
        for known, stream in self.streams.items():
            if encode(known) == encode(key):
                return stream
        raise KeyError(key)

    def consumer(self, name: Any) -> ConsumerGroup:
        """The same group and streams, read as consumer ``name``. No Redis work."""
        return type(self)(self.database, self.name, self.keys, name)

    @command
    def create(
        self, ensure_keys_exist: bool = True, mkstream: bool = False
    ) -> Returns[dict[Any, bool]]:
        """XGROUP CREATE the group on every stream, starting after each stream's id.

        Missing streams are created (MKSTREAM) unless ``ensure_keys_exist`` and ``mkstream``
        are both False, in which case StreamNotFoundError is raised. Returns ``{key: True}``
        for groups created, ``{key: False}`` where the group already existed. A key of
        another type raises WrongTypeError. 2 round trips: one TYPE check of every key (so
        that nothing is created when any key is unusable), then one pipeline of creates.
        """
        make = bool(ensure_keys_exist or mkstream)
        types = yield Batch([call.type(key) for key in self.keys], transaction=False)
        for key, found in zip(self.keys, types, strict=True):
            found = decode(found)
            if found not in ("stream", "none"):
                raise WrongTypeError(key, found, "stream")
            if found == "none" and not make:
                raise StreamNotFoundError(
                    f"{self!r}: stream {decode(key)!r} does not exist (use ensure_keys_exist=True)"
                )
        creates = [
            call.xgroup_create(key, self.name, start, mkstream=make)
            for key, start in self.keys.items()
        ]
        replies = yield Batch(creates, transaction=False, raise_on_error=False)
        result: dict[Any, bool] = {}
        for key, reply in zip(self.keys, replies, strict=True):
            if isinstance(reply, ResponseError):
                if str(reply).startswith("BUSYGROUP"):
                    result[key] = False
                    continue
                yield from self._raise(key, reply)
            result[key] = bool(reply)
        return result

    def _raise(self, key: Any, exc: ResponseError) -> Returns[None]:
        # Steps (1 round trip on the WRONGTYPE path only) that raise the clear error.
        stream = self.stream(key)
        translate_stream_error(self, key, exc, self.name)
        if "WRONGTYPE" in str(exc):
            yield from wrong_type_steps(stream, [], exc)
        try:
            raise exc
        finally:
            del exc  # else frame<->traceback cycle: client kept until GC

    def _each(self, method: str, *args: Any) -> Returns[dict[Any, Any]]:
        # Steps: one pipeline of ``method`` on every stream, errors raised clearly.
        calls: list[Call] = [(method, (key, *args), {}) for key in self.keys]
        replies = yield Batch(calls, transaction=False, raise_on_error=False)
        result: dict[Any, Any] = {}
        for key, reply in zip(self.keys, replies, strict=True):
            if isinstance(reply, ResponseError):
                yield from self._raise(key, reply)
            result[key] = reply
        return result

    @command
    def destroy(self) -> Returns[dict[Any, bool]]:
        """XGROUP DESTROY on every stream: ``{key: True}`` where a group was removed.
        1 round trip (a pipeline)."""
        replies = yield from self._each("xgroup_destroy", self.name)
        return {k: bool(v) for k, v in replies.items()}

    @command
    def set_id(self, id: Any = "$") -> Returns[dict[Any, bool]]:  # noqa: A002
        """XGROUP SETID on every stream (``$`` = all messages so far count as read).
        1 round trip (a pipeline)."""
        value = self._to_id(id, "id", ("$",))
        replies = yield from self._each("xgroup_setid", self.name, value)
        return {k: bool(v) for k, v in replies.items()}

    def reset(self) -> dict[Any, bool]:
        """Make the group read every stream from its start again (SETID ``0-0``). 1 round trip (a
        pipeline)."""
        return self.set_id("0-0")

    @command
    def stream_info(self) -> Returns[dict[Any, dict[Any, Any]]]:
        """XINFO STREAM of every stream: ``{key: info}``. 1 round trip (a pipeline)."""
        replies = yield from self._each("xinfo_stream")
        return {k: dict(v) for k, v in replies.items()}

    @command
    def read(
        self, count: int | None = None, block: int | None = None, consumer: Any = None
    ) -> Returns[list[Any]]:
        """XREADGROUP messages never delivered to the group, from every stream, as
        ``[[stream key, [(id, data), ...]], ...]`` (streams with nothing new are left out).
        ``count`` is per stream; ``block`` waits up to that many ms (0 = forever).
        1 round trip."""
        return (yield from self._read_steps(count, block, consumer))

    def _read_steps(self, count: Any, block: Any, consumer: Any) -> Returns[list[Any]]:
        # Shared with TimeSeries.read, which merges the messages.
        label = repr(self)
        limit = _check_optional(label, count, "count", 1)
        wait = _check_optional(label, block, "block", 0)
        name = self._consumer if consumer is None else _check_name(label, consumer, "consumer")
        check_same_slot(self.database, list(self.keys), "XREADGROUP")
        try:
            reply = yield xread_call(dict.fromkeys(self.keys, ">"), limit, wait, self.name, name)
        except ResponseError as exc:
            streams: list[Any] = list(self.streams.values())
            keys = ", ".join(str(decode(k)) for k in self.keys)
            translate_stream_error(self, keys, exc, self.name)
            if "WRONGTYPE" in str(exc):
                yield from wrong_type_steps(streams[0], streams[1:], exc)
            raise
        # Lists, not tuples, as upstream returns them.
        return [[key, normalize_entries(entries)] for key, entries in normalize_xread(reply)]
