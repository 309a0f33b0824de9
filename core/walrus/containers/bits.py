"""Bit-level containers over a Redis string: ``BitField`` (BITFIELD, GETBIT/SETBIT, BITCOUNT),
the chainable ``BitFieldOperation`` builder, and ``BloomFilter``.

Formats, offsets, values and overflow modes are checked before anything is sent; a bad one
raises ``ContainerValueError``/``ContainerTypeError`` (so ``ValueError``/``TypeError``) naming
it, and the stored string is left unchanged.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ..calls import call
from ..utils import encode
from .base import Container, is_async_client
from .errors import ContainerTypeError, ContainerValueError, check_value
from .running import Returns, command, snapshot, sync_only

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["OVERFLOW_MODES", "BitField", "BitFieldOperation", "BloomFilter"]

OVERFLOW_MODES = ("WRAP", "SAT", "FAIL")
"""The overflow behaviours BITFIELD accepts: wrap around, saturate, or fail (the command returns
None)."""
_FORMAT_RE = re.compile(r"^([iu])(\d{1,2})$")
_OFFSET_RE = re.compile(r"^#(\d{1,10})$")
# Redis strings hold at most 512 MB, i.e. 2**32 bits.
_MAX_BITS = 2**32
_INT64 = (-(2**63), 2**63 - 1)


def _check_int(owner: Any, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContainerTypeError(f"{owner!r}: {what} must be an int, got {type(value).__name__}")
    return value


def _check_format(owner: Any, fmt: Any) -> tuple[str, int]:
    """``(fmt text, width in bits)`` of a BITFIELD type such as ``u8`` or ``i16``."""
    if not isinstance(fmt, (str, bytes)):
        raise ContainerTypeError(
            f"{owner!r}: bitfield format must be a str such as 'u8' or 'i16', "
            f"got {type(fmt).__name__}"
        )
    text = fmt.decode("utf-8", "replace") if isinstance(fmt, bytes) else fmt
    match = _FORMAT_RE.match(text)
    width = int(match.group(2)) if match else 0
    signed = bool(match) and match.group(1) == "i"  # type: ignore[union-attr]
    if not match or width < 1 or width > (64 if signed else 63):
        raise ContainerValueError(
            f"{owner!r}: bad bitfield format {text!r}: expected i1..i64 or u1..u63"
        )
    return text, width


def _check_offset(owner: Any, offset: Any, width: int) -> int | str:
    """A bit offset (int >= 0) or a ``'#N'`` offset counted in units of the field width."""
    if isinstance(offset, (str, bytes)):
        text = offset.decode("utf-8", "replace") if isinstance(offset, bytes) else offset
        match = _OFFSET_RE.match(text)
        if not match:
            raise ContainerValueError(
                f"{owner!r}: bad bit offset {text!r}: expected an int or '#N'"
            )
        bits = int(match.group(1)) * width
        result: int | str = text
    else:
        bits = _check_int(owner, offset, "offset")
        result = bits
    if bits < 0 or bits + width > _MAX_BITS:
        raise ContainerValueError(f"{owner!r}: bit offset {offset!r} is outside 0..2**32 - {width}")
    return result


def _check_overflow(owner: Any, overflow: Any) -> str:
    if not isinstance(overflow, str):
        raise ContainerTypeError(
            f"{owner!r}: overflow must be one of {', '.join(OVERFLOW_MODES)}, "
            f"got {type(overflow).__name__}"
        )
    mode = overflow.upper()
    if mode not in OVERFLOW_MODES:
        raise ContainerValueError(
            f"{owner!r}: bad overflow mode {overflow!r}: "
            f"expected one of {', '.join(OVERFLOW_MODES)}"
        )
    return mode


def _check_int64(owner: Any, value: Any, what: str) -> int:
    number = _check_int(owner, value, what)
    if not _INT64[0] <= number <= _INT64[1]:
        raise ContainerValueError(
            f"{owner!r}: {what} {number} does not fit in a signed 64-bit integer"
        )
    return number


class BitFieldOperation:
    """A BITFIELD command being built: chain ``get``/``set``/``incrby`` and ``execute()`` (or
    iterate) to run them all in ONE command, atomically. Returns one value per operation
    (None for an INCRBY/SET refused by ``overflow="FAIL"``).

    ``overflow`` of ``incrby`` applies to that and the following operations of the chain;
    None keeps the current mode (WRAP at the start of a command, as in Redis).

    On an asyncio client (``AsyncDatabase``) ``await op.execute()`` runs it and
    ``async for`` iterates the results.
    """

    # What a WRONGTYPE reply is explained against: the key must hold a string.
    redis_type = "string"
    accepted_types: tuple[str, ...] = ("string",)

    def __init__(self, database: Database, key: Any) -> None:
        self.database = database
        self.key = key
        self.operations: list[tuple[Any, ...]] = []
        self._overflow = "WRAP"
        self._async = is_async_client(database)

    def __repr__(self) -> str:
        ops = " ".join(" ".join(str(part) for part in op) for op in self.operations)
        return f"<BitFieldOperation {self.key!r}: {ops or '(empty)'}>"

    def get(self, fmt: str, offset: int | str) -> BitFieldOperation:
        """Queue ``GET fmt offset`` (offset in bits, or ``'#N'`` in fields). No Redis work until
        ``execute()``."""
        text, width = _check_format(self, fmt)
        self.operations.append(("GET", text, _check_offset(self, offset, width)))
        return self

    def set(self, fmt: str, offset: int | str, value: int) -> BitFieldOperation:
        """Queue ``SET fmt offset value``; its result is the previous value. No Redis work until
        ``execute()``."""
        text, width = _check_format(self, fmt)
        where = _check_offset(self, offset, width)
        self.operations.append(("SET", text, where, _check_int64(self, value, "value")))
        return self

    def incrby(
        self, fmt: str, offset: int | str, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        """Queue ``INCRBY fmt offset increment`` (preceded by ``OVERFLOW`` when ``overflow``
        changes the mode: WRAP, SAT or FAIL); its result is the new value.
        No Redis work until ``execute()``."""
        text, width = _check_format(self, fmt)
        where = _check_offset(self, offset, width)
        amount = _check_int64(self, increment, "increment")
        if overflow is not None:
            mode = _check_overflow(self, overflow)
            if mode != self._overflow:
                self.operations.append(("OVERFLOW", mode))
                self._overflow = mode
        self.operations.append(("INCRBY", text, where, amount))
        return self

    @command
    def execute(self) -> Returns[list[Any]]:
        """Run the queued operations as one BITFIELD command (1 round trip; none when
        nothing is queued). The queue is kept, so executing again repeats it."""
        return (yield from self._steps())

    def _steps(self) -> Returns[list[Any]]:
        # The BITFIELD command as steps, shared with BitField's slice operators.
        if not self.operations:
            return []
        args = [part for op in self.operations for part in op]
        return list((yield call.execute_command("BITFIELD", self.key, *args)))

    def __iter__(self) -> Iterator[Any]:
        """Execute and iterate over the results (1 round trip; ``async for`` on an asyncio
        client)."""
        sync_only(self, "for", "async for")
        return snapshot(self, self.execute)  # type: ignore[return-value]

    def __aiter__(self) -> AsyncIterator[Any]:
        """``async for`` on an asyncio client: execute (1 round trip) and iterate over the
        results."""
        if not self._async:
            raise TypeError(f"{self!r} is on a sync client: iterate it with for")
        return snapshot(self, self.execute)  # type: ignore[return-value]


class BitField(Container):
    """A Redis string used as an array of bits / bit fields. Each method is one round trip;
    ``get``/``set``/``incrby`` return a ``BitFieldOperation`` to chain and ``execute()``."""

    redis_type = "string"
    accepted_types: tuple[str, ...] = ("string",)

    def operation(self) -> BitFieldOperation:
        """An empty BitFieldOperation on this key. No Redis work."""
        return BitFieldOperation(self.database, self.key)

    def get(self, fmt: str, offset: int | str) -> BitFieldOperation:
        """Start a chain with ``GET fmt offset``. No Redis work until ``execute()`` (1 round trip
        for the whole chain)."""
        return self.operation().get(fmt, offset)

    def set(self, fmt: str, offset: int | str, value: int) -> BitFieldOperation:
        """Start a chain with ``SET fmt offset value``. No Redis work until ``execute()``."""
        return self.operation().set(fmt, offset, value)

    def incrby(
        self, fmt: str, offset: int | str, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        """Start a chain with ``INCRBY fmt offset increment`` (overflow WRAP/SAT/FAIL). No Redis
        work until ``execute()``."""
        return self.operation().incrby(fmt, offset, increment, overflow)

    def _slice(self, item: Any) -> tuple[int, int]:
        """``(start, width)`` of a ``[start:stop]`` bit range (stop exclusive, width <= 63)."""
        if not isinstance(item, slice):
            raise ContainerValueError(
                f"{self!r}: index with a bit range such as [0:8] "
                f"(for one bit use get_bit/set_bit), got {type(item).__name__}"
            )
        if item.step is not None:
            raise ContainerValueError(f"{self!r}: bit ranges take no step, got {item.step!r}")
        start = 0 if item.start is None else item.start
        stop = item.stop
        if stop is None:
            raise ContainerValueError(f"{self!r}: a bit range needs an end, e.g. [0:8]")
        for bound in (start, stop):
            if isinstance(bound, bool) or not isinstance(bound, int):
                raise ContainerValueError(
                    f"{self!r}: bit range bounds must be ints, got {type(bound).__name__}"
                )
        if start < 0 or stop <= start:
            raise ContainerValueError(
                f"{self!r}: bad bit range [{start}:{stop}]: need 0 <= start < stop"
            )
        if stop - start > 63:
            raise ContainerValueError(
                f"{self!r}: bit range [{start}:{stop}] is {stop - start} bits wide; at most 63"
            )
        return start, stop - start

    @command
    def __getitem__(self, item: slice) -> Returns[int]:
        """``bf[start:stop]``: bits start..stop-1 read as an unsigned int. 1 round trip."""
        start, width = self._slice(item)
        values = yield from self.get(f"u{width}", start)._steps()
        return int(values[0])

    def __setitem__(self, item: slice, value: int) -> None:
        """``bf[start:stop] = n``: store ``n`` (0 <= n < 2**width) in bits start..stop-1;
        ValueError when it does not fit. 1 round trip."""
        self._sync_only("bf[start:stop] = n", "await bf.set_range(slice(start, stop), n)")
        self.set_range(item, value)

    @command
    def set_range(self, item: slice, value: int) -> Returns[None]:
        """Store ``value`` (0 <= value < 2**width) in the bits of the range ``item``
        (``bf[start:stop] = value``); ValueError when it does not fit. 1 round trip."""
        start, width = self._slice(item)
        number = _check_int(self, value, "value")
        if not 0 <= number < 2**width:
            raise ContainerValueError(
                f"{self!r}: value {number} does not fit in the {width} bits "
                f"of [{start}:{start + width}]"
            )
        yield from self.set(f"u{width}", start, number)._steps()

    def __delitem__(self, item: slice) -> None:
        """``del bf[start:stop]``: clear bits start..stop-1 (the string keeps its length).
        1 round trip."""
        self._sync_only("del bf[start:stop]", "await bf.clear_range(slice(start, stop))")
        self.clear_range(item)

    @command
    def clear_range(self, item: slice) -> Returns[None]:
        """Clear the bits of the range ``item`` (``del bf[start:stop]``; the string keeps
        its length). 1 round trip."""
        start, width = self._slice(item)
        yield from self.set(f"u{width}", start, 0)._steps()

    @command
    def get_raw(self) -> Returns[bytes | None]:
        """The whole string (GET), or None when missing. 1 round trip."""
        raw: bytes | None = yield call.get(self.key)
        return raw

    @command
    def set_raw(self, value: Any) -> Returns[bool]:
        """Replace the whole string (SET). 1 round trip."""
        check_value(self, value)
        return bool((yield call.set(self.key, value)))

    @command
    def bit_count(self, start: int | None = None, end: int | None = None) -> Returns[int]:
        """BITCOUNT: set bits, optionally between byte offsets ``start`` and ``end``
        (inclusive; negative counts from the end). 1 round trip."""
        if start is None and end is None:
            return int((yield call.bitcount(self.key)))
        # Byte offsets past the signed 64-bit range lie past either end of any string.
        limit = 2**63 - 1
        first = max(-limit, min(limit, _check_int(self, 0 if start is None else start, "start")))
        last = max(-limit, min(limit, _check_int(self, -1 if end is None else end, "end")))
        return int((yield call.bitcount(self.key, first, last)))

    def _bit_offset(self, offset: Any) -> int:
        bit = _check_int(self, offset, "offset")
        if not 0 <= bit < _MAX_BITS:
            raise ContainerValueError(f"{self!r}: bit offset {bit} is outside 0..2**32-1")
        return bit

    @command
    def get_bit(self, offset: int) -> Returns[int]:
        """GETBIT: the bit at ``offset`` (0 or 1). 1 round trip."""
        return int((yield call.getbit(self.key, self._bit_offset(offset))))

    @command
    def set_bit(self, offset: int, value: int) -> Returns[int]:
        """SETBIT: set the bit at ``offset`` to ``value`` (0/1, or a bool); returns the
        previous bit. 1 round trip."""
        bit = self._bit_offset(offset)
        if value not in (0, 1) or not isinstance(value, int):
            raise ContainerValueError(f"{self!r}: a bit must be 0 or 1, got {value!r}")
        return int((yield call.setbit(self.key, bit, int(value))))


class BloomFilter(Container):
    """A Bloom filter in a Redis string of ``size`` bytes (m = 8 * size bits).

    Each item sets k = 4 bits, chosen by splitting its MD5 digest into four big-endian
    32-bit integers taken modulo m (the layout upstream walrus uses, so filters written by
    either library read back in the other). ``contains`` never misses an added item; an
    item never added is reported present with probability about

        p = (1 - e^(-k n / m)) ** k        (n = items added so far)

    e.g. about 0.02% for the default 64 KB (524,288 bits) after 10,000 items, 2.4% after
    50,000. ``false_positive_rate(n)`` computes it. ``add`` and ``contains`` are one BITFIELD
    command each (1 round trip).
    """

    redis_type = "string"
    accepted_types: tuple[str, ...] = ("string",)
    hash_count = 4

    def __init__(self, database: Database, key: Any, size: int = 64 * 1024) -> None:
        super().__init__(database, key)
        if isinstance(size, bool) or not isinstance(size, int):
            raise ContainerTypeError(
                f"{self!r}: size must be an int (bytes), got {type(size).__name__}"
            )
        if not 0 < size <= _MAX_BITS // 8:
            raise ContainerValueError(
                f"{self!r}: size must be between 1 and 512 MB in bytes, got {size}"
            )
        self.size = size
        self.bits = size * 8

    def _positions(self, data: Any) -> list[int]:
        check_value(self, data, "item")
        digest = hashlib.md5(encode(data)).digest()
        return [seed % self.bits for seed in struct.unpack(">IIII", digest)]

    def _run(self, op: str, data: Any) -> Returns[list[Any]]:
        args: list[Any] = []
        for position in self._positions(data):
            args += [op, "u1", position] + ([1] if op == "SET" else [])
        return list((yield call.execute_command("BITFIELD", self.key, *args)))

    @command
    def add(self, data: Any) -> Returns[bool]:
        """Add an item (str, bytes or number). Returns True when it was certainly not in the
        filter before (one of its bits was still 0). 1 round trip."""
        return not all((yield from self._run("SET", data)))

    @command
    def contains(self, data: Any) -> Returns[bool]:
        """True when the item may have been added (false positives possible, false negatives
        impossible; ``item in bloom``). 1 round trip; a missing key is an empty filter."""
        return all((yield from self._run("GET", data)))

    def __contains__(self, data: Any) -> bool:
        """``item in bloom``: ``contains``. 1 round trip."""
        self._sync_only("in", "await bloom.contains(item)")
        return self.contains(data)

    def false_positive_rate(self, n: int) -> float:
        """Theoretical false-positive probability after ``n`` distinct items were added. No Redis
        work."""
        k = self.hash_count
        return float((1.0 - math.exp(-k * n / self.bits)) ** k)
