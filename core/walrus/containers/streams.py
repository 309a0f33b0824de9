"""``Stream``: a Redis stream (XADD / XRANGE / XREAD / XTRIM / XINFO ...).

Message ids are checked before anything is sent: an id is ``<ms>`` or ``<ms>-<seq>`` (str,
bytes or a non-negative int), or one of the special tokens a command accepts (``*``, ``-``,
``+``, ``$``, ``>``). Redis errors about streams are turned into clear exceptions:

* ``StreamIdError`` (``ValueError``): a malformed id, or an id Redis refuses (e.g. an XADD id
  not greater than the stream's last one).
* ``StreamNotFoundError`` / ``GroupNotFoundError`` (``KeyError``, and ``ResponseError`` as
  upstream walrus let those through): the stream or its consumer group does not exist.
* ``WrongTypeError``: the key holds another type.

``ConsumerGroup`` and ``ConsumerGroupStream`` live in ``consumer_group.py``, which imports
from this module (never the other way: no import cycle); import them from
``walrus.containers`` or ``walrus``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import ResponseError

from ..calls import Call, call, send
from ..exceptions import WalrusError
from ..utils import decode
from .base import Container
from .errors import ContainerTypeError, ContainerValueError, check_value
from .running import Returns, command, pages

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = [
    "GroupNotFoundError",
    "Stream",
    "StreamIdError",
    "StreamNotFoundError",
    "check_count",
    "check_stream_id",
    "normalize_entries",
    "normalize_xread",
    "send_xread",
    "translate_stream_error",
    "translated",
    "translating",
    "xread_call",
]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

_ID_RE = re.compile(r"^(\d{1,20})(?:-(\d{1,20}|\*))?$")
_MAX_U64 = 2**64 - 1
# Page size used when iterating over a whole stream.
ITER_PAGE_SIZE = 100


class StreamIdError(ContainerValueError):
    """A stream message id is malformed, or Redis refused it (nothing was written)."""


class _MissingError(WalrusError, ResponseError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StreamNotFoundError(_MissingError):
    """The stream does not exist (for commands that need it to, e.g. XINFO, XGROUP SETID)."""


class GroupNotFoundError(_MissingError):
    """The consumer group does not exist on the stream (create it with ``create()``)."""


# -- argument checks ---------------------------------------------------------------------------


def check_stream_id(
    owner: Any,
    value: Any,
    what: str = "id",
    specials: tuple[str, ...] = (),
    exclusive: bool = False,
    auto_seq: bool = False,
) -> str:
    """Return ``value`` as id text, or raise StreamIdError / ContainerTypeError naming ``what``.

    ``specials`` lists the tokens the command accepts (``*``, ``-``, ``+``, ``$``, ``>``);
    ``exclusive`` allows the ``(id`` form of range bounds; ``auto_seq`` allows ``<ms>-*``.
    No Redis work.
    """
    if isinstance(value, bool) or not isinstance(value, (str, bytes, int)):
        raise ContainerTypeError(
            f"{owner!r}: {what} must be a stream id (str, bytes or int), got {type(value).__name__}"
        )
    if isinstance(value, int):
        if value < 0:
            raise StreamIdError(f"{owner!r}: {what} must not be negative, got {value}")
        text = str(value)
    else:
        try:
            text = decode(value)
        except UnicodeDecodeError:
            raise StreamIdError(f"{owner!r}: {what} is not a valid stream id: {value!r}") from None
    if text in specials:
        return text
    body = text[1:] if exclusive and text.startswith("(") else text
    match = _ID_RE.match(body)
    if (
        match is None
        or int(match.group(1)) > _MAX_U64
        or (match.group(2) == "*" and not auto_seq)
        or (match.group(2) not in (None, "*") and int(match.group(2)) > _MAX_U64)
    ):
        allowed = "<ms>-<seq>" + ("" if not auto_seq else " or <ms>-*")
        if specials:
            allowed += " or one of " + ", ".join(repr(s) for s in specials)
        raise StreamIdError(f"{owner!r}: {what} must be {allowed}, got {text!r}")
    return text


def check_count(owner: Any, value: Any, what: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise ContainerTypeError/ValueError. No Redis
    work."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContainerTypeError(f"{owner!r}: {what} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ContainerValueError(f"{owner!r}: {what} must be >= {minimum}, got {value}")
    if value > 2**63 - 1:  # what Redis reads as a count
        raise ContainerValueError(f"{owner!r}: {what} must be < 2**63, got {value}")
    return value


def _check_optional(owner: Any, value: Any, what: str, minimum: int) -> int | None:
    return None if value is None else check_count(owner, value, what, minimum)


def _check_fields(owner: Any, data: Any) -> dict[Any, Any]:
    if not isinstance(data, Mapping):
        raise ContainerTypeError(
            f"{owner!r}: message data must be a mapping of fields to values, "
            f"got {type(data).__name__}"
        )
    if not data:
        raise ContainerValueError(f"{owner!r}: message data must have at least one field")
    fields = dict(data)
    for field, value in fields.items():
        check_value(owner, field, "field")
        check_value(owner, value, f"value of field {field!r}")
    return fields


# -- reply shapes ------------------------------------------------------------------------------


def normalize_entries(entries: Any) -> list[tuple[Any, Any]]:
    """A list of ``(id, data)`` pairs from an XRANGE-like reply. No Redis work."""
    return [(entry[0], entry[1]) for entry in entries or ()]


def normalize_xread(reply: Any) -> list[tuple[Any, list[tuple[Any, Any]]]]:
    """``[(stream key, [(id, data), ...]), ...]`` from an XREAD/XREADGROUP reply.

    RESP2 replies are a list of ``[key, entries]``; RESP3 ones a dict whose values wrap the
    entries in one more list.
    No Redis work.
    """
    if not reply:
        return []
    if isinstance(reply, dict):
        result = []
        for key, value in reply.items():
            if len(value) == 1 and isinstance(value[0], list):
                value = value[0]
            result.append((key, normalize_entries(value)))
        return result
    return [(item[0], normalize_entries(item[1])) for item in reply]


def _next_id(message_id: str) -> str:
    """The smallest id after ``message_id`` (``<ms>-<seq>``): an inclusive XRANGE start that
    skips it, which works on every Redis with streams (the ``(id`` form needs 6.2)."""
    ms, _, seq = message_id.partition("-")
    if int(seq or 0) < _MAX_U64:
        return f"{ms}-{int(seq or 0) + 1}"
    return f"{int(ms) + 1}-0"


def xread_call(
    streams: dict[Any, Any],
    count: int | None,
    block: int | None,
    group: Any = None,
    consumer: Any = None,
) -> Call:
    """The XREAD (or, with ``group``, XREADGROUP) step of ``streams`` ({key: id}), for either
    client: 1 round trip when sent, on a cluster too (``ClusterDatabase.determine_slot``
    reads XREAD's keys locally instead of asking the server with COMMAND GETKEYS)."""
    if group is None:
        return call.xread(streams, count=count, block=block)
    return call.xreadgroup(group, consumer, streams, count=count, block=block)


def send_xread(
    database: Any,
    streams: dict[Any, Any],
    count: int | None,
    block: int | None,
    group: Any = None,
    consumer: Any = None,
) -> Any:
    """``xread_call`` sent on a sync client: 1 round trip, on a cluster too."""
    return send(database, xread_call(streams, count, block, group, consumer))


# -- error translation -------------------------------------------------------------------------

_ID_ERRORS = (
    "Invalid stream ID",
    "equal or smaller than",
    "smaller than the target stream",
    "must be greater than 0-0",  # XADD with the id 0-0 (also written 0)
)
# Ids XADD always refuses: Redis reserves 0-0 as "before every message".
_ZERO_IDS = ("0", "0-0")


def translate_stream_error(owner: Any, key: Any, exc: ResponseError, group: Any = None) -> None:
    """Raise the clear error for a Redis stream error, or return to let the caller re-raise. No
    Redis work."""
    message = str(exc)
    if isinstance(exc, WalrusError) or "WRONGTYPE" in message:
        return
    if message.startswith("NOGROUP"):
        raise GroupNotFoundError(
            f"{owner!r}: no consumer group {decode(group)!r} on stream {decode(key)!r} (or the "
            "stream does not exist); create it first with ConsumerGroup.create()"
        ) from exc
    if "no such key" in message or "requires the key to exist" in message:
        raise StreamNotFoundError(f"{owner!r}: stream {decode(key)!r} does not exist") from exc
    if any(text in message for text in _ID_ERRORS):
        raise StreamIdError(f"{owner!r}: Redis refused the id: {message}") from exc


def translating(owner: Any, steps: Returns[R], key: Any, group: Any = None) -> Returns[R]:
    """``steps`` with the stream errors Redis replies translated (``translate_stream_error``
    for ``key`` and ``group``); any other error goes on, for ``command`` to translate
    (WRONGTYPE) or raise. No Redis work of its own: the steps cost what they did."""
    try:
        return (yield from steps)
    except ResponseError as exc:
        translate_stream_error(owner, key, exc, group)
        raise


def translated(method: F) -> F:
    """Decorator of a steps method (under ``@command``, or a helper that commands
    ``yield from``): turn stream-specific Redis errors into the classes above, for both
    clients. No Redis work of its own."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        steps = method(self, *args, **kwargs)
        return translating(self, steps, self.key, getattr(self, "group", None))

    return wrapper  # type: ignore[return-value]


class Stream(Container):
    """A Redis stream. Message ids and data come back as bytes (as redis-py returns them).

    Each method is one round trip unless its docstring says otherwise.
    """

    redis_type = "stream"
    accepted_types: tuple[str, ...] = ("stream",)

    def __init__(self, database: Database, key: Any) -> None:
        super().__init__(database, key)

    # -- hooks (TimeSeriesStream converts datetimes and wraps messages) --------------------------

    def _to_id(
        self, value: Any, what: str, specials: tuple[str, ...] = (), exclusive: bool = False
    ) -> str:
        return check_stream_id(self, value, what, specials, exclusive, auto_seq="*" in specials)

    def _from_id(self, message_id: Any) -> Any:
        return message_id

    def _entry(self, message_id: Any, data: Any) -> Any:
        return (message_id, data)

    def _entries(self, entries: Any) -> list[Any]:
        return [self._entry(mid, data) for mid, data in normalize_entries(entries)]

    # -- writing -------------------------------------------------------------------------------

    @command
    @translated
    def add(
        self,
        data: Mapping[Any, Any],
        id: Any = "*",
        maxlen: int | None = None,
        approximate: bool = True,  # noqa: A002
    ) -> Returns[Any]:
        """XADD ``data`` (a non-empty mapping) and return the message id. ``maxlen`` caps the
        stream length (``approximate`` lets Redis trim lazily, ``~``). StreamIdError for an
        id Redis refuses (``0-0``, or not above the stream's last id). 1 round trip."""
        fields = _check_fields(self, data)
        message_id = self._to_id(id, "id", ("*",))
        if message_id in _ZERO_IDS:
            raise StreamIdError(f"{self!r}: id must be greater than 0-0, got {message_id!r}")
        limit = _check_optional(self, maxlen, "maxlen", 0)
        added = yield call.xadd(
            self.key, fields, id=message_id, maxlen=limit, approximate=approximate
        )
        return self._from_id(added)

    def __delitem__(self, item: Any) -> None:
        """XDEL one id, or a list/tuple of ids. 1 round trip."""
        self._sync_only("del stream[id]", "await stream.delete(id)")
        ids = list(item) if isinstance(item, (list, tuple)) else [item]
        self.delete(*ids)

    @command
    @translated
    def delete(self, *id_list: Any) -> Returns[int]:
        """XDEL the given ids (``del stream[id]``); returns how many existed. 1 round trip
        (none without ids)."""
        ids = [self._to_id(value, "id") for value in id_list]
        if not ids:
            return 0
        return int((yield call.xdel(self.key, *ids)))

    @command
    @translated
    def trim(
        self,
        count: int | None = None,
        approximate: bool = True,
        minid: Any = None,
        limit: int | None = None,
    ) -> Returns[int]:
        """XTRIM to at most ``count`` messages, or drop the messages older than ``minid``
        (exactly one of them). ``approximate`` trims lazily (``~``), ``limit`` caps the work
        of an approximate trim. Returns how many messages were removed. 1 round trip."""
        if (count is None) == (minid is None):
            raise ContainerValueError(f"{self!r}: trim needs exactly one of count or minid")
        maxlen = _check_optional(self, count, "count", 0)
        min_id = None if minid is None else self._to_id(minid, "minid")
        cap = _check_optional(self, limit, "limit", 0)
        if cap is not None and not approximate:
            raise ContainerValueError(f"{self!r}: limit needs approximate=True")
        return int((yield call.xtrim(
            self.key, maxlen=maxlen, approximate=approximate, minid=min_id, limit=cap
        )))  # fmt: skip

    @command
    @translated
    def set_id(self, id: Any) -> Returns[bool]:  # noqa: A002
        """XSETID: set the stream's last id (must not be below its newest message). 1 round trip."""
        return bool((yield call.execute_command("XSETID", self.key, self._to_id(id, "id"))))

    # -- reading -------------------------------------------------------------------------------

    def __getitem__(self, item: Any) -> Any:
        """``stream[id]`` is ``get(id)``; ``stream[start:stop:count]`` is ``range`` (bounds
        inclusive, missing bounds mean oldest/newest, the step is the count). 1 round trip
        (on an asyncio client, ``await stream[...]``)."""
        if isinstance(item, slice):
            start = "-" if item.start is None else item.start
            stop = "+" if item.stop is None else item.stop
            return self.range(start, stop, item.step)
        return self.get(item)

    @command
    @translated
    def get(self, docid: Any) -> Returns[Any]:
        """The message ``(id, data)`` with id ``docid``, or None. 1 round trip."""
        message_id = self._to_id(docid, "id")
        entries = self._entries((yield call.xrange(self.key, message_id, message_id, count=1)))
        return entries[0] if entries else None

    @command
    @translated
    def range(
        self, start: Any = "-", stop: Any = "+", count: int | None = None
    ) -> Returns[list[Any]]:
        """XRANGE: messages from ``start`` to ``stop`` (inclusive; ``(id`` is exclusive),
        oldest first, at most ``count``. 1 round trip."""
        low = self._to_id(start, "start", ("-", "+"), exclusive=True)
        high = self._to_id(stop, "stop", ("-", "+"), exclusive=True)
        limit = _check_optional(self, count, "count", 1)
        return self._entries((yield call.xrange(self.key, low, high, count=limit)))

    @command
    @translated
    def revrange(
        self, start: Any = "+", stop: Any = "-", count: int | None = None
    ) -> Returns[list[Any]]:
        """XREVRANGE: messages from ``start`` (newest end) down to ``stop``, newest first, at
        most ``count``. 1 round trip."""
        high = self._to_id(start, "start", ("-", "+"), exclusive=True)
        low = self._to_id(stop, "stop", ("-", "+"), exclusive=True)
        limit = _check_optional(self, count, "count", 1)
        return self._entries((yield call.xrevrange(self.key, high, low, count=limit)))

    def _iterate(self) -> Iterator[Any] | AsyncIterator[Any]:
        """Every message, oldest first, paging with XRANGE (1 round trip per 100 messages;
        each page starts just after the last id seen, so Redis 5.0 is enough)."""
        return pages(self, self._page)

    @command
    def _page(self, after: Any) -> Returns[tuple[Any, list[Any]]]:
        # ``after`` is 0 for the first page, else the id the page starts at; the next
        # "cursor" is 0 once a page comes back short (the end of the stream).
        low = "-" if not after else after
        page = normalize_entries((yield call.xrange(self.key, low, "+", count=ITER_PAGE_SIZE)))
        items = [self._entry(message_id, data) for message_id, data in page]
        if len(page) < ITER_PAGE_SIZE:
            return 0, items
        return _next_id(decode(page[-1][0])), items

    def __len__(self) -> int:
        """XLEN. 1 round trip."""
        self._sync_only("len()", "await stream.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """XLEN (upstream's name for ``len(stream)``). 1 round trip."""
        return int((yield call.xlen(self.key)))

    @command
    @translated
    def read(
        self, count: int | None = None, block: int | None = None, last_id: Any = None
    ) -> Returns[list[Any]]:
        """XREAD messages newer than ``last_id`` (exclusive; default ``0-0`` = from the start,
        ``$`` = only messages added while blocking). ``block`` waits up to that many ms (0 =
        forever) when nothing is there. 1 round trip (also on a cluster)."""
        after = self._to_id("0-0" if last_id is None else last_id, "last_id", ("$",))
        limit = _check_optional(self, count, "count", 1)
        wait = _check_optional(self, block, "block", 0)
        reply = normalize_xread((yield xread_call({self.key: after}, limit, wait)))
        for _key, entries in reply:
            return [self._entry(mid, data) for mid, data in entries]
        return []

    # -- introspection ---------------------------------------------------------------------------

    @command
    @translated
    def info(self) -> Returns[dict[Any, Any]]:
        """XINFO STREAM: length, first/last entry, groups... StreamNotFoundError when the key
        does not exist. 1 round trip."""
        return dict((yield call.xinfo_stream(self.key)))

    @command
    @translated
    def groups_info(self) -> Returns[list[dict[Any, Any]]]:
        """XINFO GROUPS: one dict per consumer group of the stream. 1 round trip."""
        return [dict(item) for item in (yield call.xinfo_groups(self.key))]

    @command
    @translated
    def consumers_info(self, group: Any) -> Returns[list[dict[Any, Any]]]:
        """XINFO CONSUMERS: one dict per consumer of ``group``. 1 round trip."""
        check_value(self, group, "group")
        try:
            return [dict(item) for item in (yield call.xinfo_consumers(self.key, group))]
        except ResponseError as exc:
            translate_stream_error(self, self.key, exc, group)
            raise
