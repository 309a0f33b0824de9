"""``TimeSeries``: a consumer group whose message ids are datetimes.

A stream id ``<ms>-<seq>`` is read as the UTC instant ``<ms>`` milliseconds after the Unix
epoch plus a sequence number. Datetimes given as ids are converted the same way: a naive
datetime is taken to be UTC, an aware one keeps its instant (its offset is applied), and
sub-millisecond digits are dropped. Timestamps read back are naive UTC datetimes.
(Upstream walrus used the machine's local time in both directions, so ids changed meaning
with the TZ of whoever wrote or read them; this module does not.)

Ids may be given as a datetime, a ``(datetime, sequence)`` tuple, or anything a plain
``Stream`` accepts (``"1700000000000-0"``, ``"-"``, ``"$"`` ...).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from .containers.consumer_group import ConsumerGroup, ConsumerGroupStream
from .containers.errors import ContainerTypeError
from .containers.running import Returns, command
from .containers.streams import StreamIdError, check_stream_id, normalize_entries
from .utils import decode, decode_dict

__all__ = [
    "Message",
    "TimeSeries",
    "TimeSeriesStream",
    "datetime_to_id",
    "id_to_datetime",
    "normalize_id",
]

_EPOCH = datetime(1970, 1, 1)
_ONE_MS = timedelta(milliseconds=1)


def datetime_to_id(dt: datetime, seq: int = 0) -> str:
    """The stream id ``<ms>-<seq>`` of ``dt`` (naive = UTC; aware = its own instant). No Redis
    work."""
    if not isinstance(dt, datetime):
        raise ContainerTypeError(f"expected a datetime, got {type(dt).__name__}")
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ContainerTypeError(f"sequence must be an int, got {type(seq).__name__}")
    if seq < 0:
        raise StreamIdError(f"sequence must not be negative, got {seq}")
    if dt.tzinfo is not None and dt.utcoffset() is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    else:
        dt = dt.replace(tzinfo=None)
    if dt < _EPOCH:
        raise StreamIdError(f"stream ids cannot be before 1970-01-01 UTC, got {dt.isoformat()}")
    return f"{(dt - _EPOCH) // _ONE_MS}-{seq}"


def id_to_datetime(message_id: Any) -> tuple[datetime, int]:
    """``(naive UTC datetime, sequence)`` of a stream id such as ``b"1700000000000-3"``. No Redis
    work."""
    text = decode(message_id)
    ms, _, seq = str(text).partition("-")
    try:
        return _EPOCH + timedelta(milliseconds=int(ms)), int(seq or 0)
    except (ValueError, OverflowError):
        raise StreamIdError(f"not a stream id: {text!r}") from None


def normalize_id(value: Any) -> Any:
    """A datetime or ``(datetime, seq)`` becomes an id string; anything else is unchanged. No Redis
    work."""
    if isinstance(value, datetime):
        return datetime_to_id(value)
    if _is_dt_pair(value):
        return datetime_to_id(value[0], value[1])
    return value


class Message:
    """One stream message: ``stream`` (str), ``message_id`` (str), ``timestamp`` (naive UTC
    datetime), ``sequence`` (int) and ``data`` (dict of str; values stay bytes when they are
    not UTF-8)."""

    __slots__ = ("data", "message_id", "sequence", "stream", "timestamp")

    def __init__(self, stream: Any, message_id: Any, data: Any) -> None:
        self.stream = decode(stream)
        self.message_id = decode(message_id)
        self.data = _decode_data(data)
        self.timestamp, self.sequence = id_to_datetime(message_id)

    def __repr__(self) -> str:
        return f"<Message {self.stream} {self.message_id}: {self.data!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.stream, self.message_id, self.data) == (
            other.stream,
            other.message_id,
            other.data,
        )

    def __hash__(self) -> int:
        return hash((self.stream, self.message_id))


def _decode_data(data: Any) -> dict[Any, Any]:
    if not data:
        return {}
    try:
        return decode_dict(data)
    except UnicodeDecodeError:
        return {_safe(k): _safe(v) for k, v in data.items()}


def _safe(value: Any) -> Any:
    try:
        return decode(value)
    except UnicodeDecodeError:
        return value


def _is_dt_pair(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], datetime)


def _to_id(owner: Any, value: Any, what: str, specials: tuple[str, ...], exclusive: bool) -> str:
    if isinstance(value, (datetime, tuple)):
        try:
            return normalize_id(value)  # type: ignore[no-any-return]
        except (StreamIdError, ContainerTypeError) as exc:
            raise type(exc)(f"{owner!r}: {what}: {exc}") from None
    return check_stream_id(owner, value, what, specials, exclusive, auto_seq="*" in specials)


class TimeSeriesStream(ConsumerGroupStream):
    """A ``ConsumerGroupStream`` taking datetimes as ids and returning ``Message`` objects.

    ``add`` returns ``(timestamp, sequence)``; reads return lists of ``Message``.
    """

    def _to_id(
        self, value: Any, what: str, specials: tuple[str, ...] = (), exclusive: bool = False
    ) -> str:
        return _to_id(self, value, what, specials, exclusive)

    def _from_id(self, message_id: Any) -> Any:
        return id_to_datetime(message_id)

    def _entry(self, message_id: Any, data: Any) -> Any:
        return Message(self.key, message_id, data)

    def __delitem__(self, item: Any) -> None:
        """XDEL one id (a datetime or ``(datetime, seq)`` counts as one id) or a list of
        ids. 1 round trip."""
        self._sync_only("del stream[id]", "await stream.delete(id)")
        if isinstance(item, list) or (isinstance(item, tuple) and not _is_dt_pair(item)):
            self.delete(*item)
        else:
            self.delete(item)

    @command
    def pending(  # type: ignore[override]
        self,
        start: Any = "-",
        stop: Any = "+",
        count: int = 1000,
        consumer: Any = None,
        idle: int | None = None,
    ) -> Returns[list[tuple[tuple[datetime, int], str, int, int]]]:
        """XPENDING as upstream's tuples ``((timestamp, sequence), consumer, ms idle,
        deliveries)``, oldest first; arguments as ``ConsumerGroupStream.pending``. 1 round trip."""
        rows = yield from self._pending_steps(start, stop, count, consumer, idle)
        return [
            (id_to_datetime(row["message_id"]), str(decode(row["consumer"])),
             row["time_since_delivered"], row["times_delivered"])
            for row in rows
        ]  # fmt: skip


class TimeSeries(ConsumerGroup):
    """A ``ConsumerGroup`` whose streams are ``TimeSeriesStream`` objects and whose
    ``read`` returns a flat list of ``Message`` objects from every stream."""

    stream_class = TimeSeriesStream

    def _to_id(self, value: Any, what: str, specials: tuple[str, ...] = ()) -> str:
        return _to_id(self, value, what, specials, False)

    @command
    def read(
        self, count: int | None = None, block: int | None = None, consumer: Any = None
    ) -> Returns[list[Any]]:
        """XREADGROUP new messages from every stream as ``Message`` objects, merged across
        streams in id (time) order, as upstream does. 1 round trip."""
        read = yield from self._read_steps(count, block, consumer)
        messages = [
            Message(key, mid, data)
            for key, entries in read
            for mid, data in normalize_entries(entries)
        ]
        messages.sort(key=lambda m: (m.timestamp, m.sequence))
        return messages
