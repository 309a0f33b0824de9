"""The stored format of cache values: one for the core ``Cache``, Flask's cache and Django's
``WalrusCache``, so each reads what the others wrote.

From the outside in:

- **counter**: the decimal digits of a signed 64-bit integer (what INCRBY writes), read as an
  ``int``. Only ``incr`` (and Django's ``set`` of an int, ``raw_ints=True``) writes one.
- **frame**: anything else, behind one NUL byte when it would otherwise read as a counter or
  starts with NUL itself.
- **signature**: with a signing key, a 32-byte keyed BLAKE2b tag in front of the body
  (``SignedSerializer``); a body is verified before anything decompresses or deserializes it.
- **body**: ``NUL + compressor flag + compressed payload`` when compressed (a payload of at
  least ``compress_min_length`` bytes and a compressor set; any compressor's flag reads back);
  ``NUL + payload`` when the payload starts with NUL; else the payload, the serializer's bytes.

So an unsigned, uncompressed pickle is stored as pickle's own bytes, as upstream walrus stores
it. Reading also accepts the layout django_walrus wrote before this format was shared (a flag
byte first: NUL, or a compressor's flag before the compressed payload), so a deployed Django
cache keeps its entries.
"""

from __future__ import annotations

import re
from typing import Any

from .compression import Compressor, by_flag, get_compressor
from .serializers import BadSignature, Serializer, SignedSerializer, get_serializer

__all__ = ["ValueCodec"]

# What INCRBY writes: a signed 64-bit integer in decimal (at most 19 digits).
_COUNTER = re.compile(rb"-?[0-9]{1,19}\Z")
_INT64 = range(-(2**63), 2**63)
_NUL = b"\x00"


class _Bytes:
    """The identity serializer: lets ``SignedSerializer`` sign bodies that are already bytes."""

    def dumps(self, value: bytes) -> bytes:
        return value

    def loads(self, data: bytes) -> bytes:
        return data


class ValueCodec:
    """Values to stored bytes and back, in the format of the module docstring.

    ``serializer``: ``"pickle"`` (default), ``"json"``, ``"msgpack"`` or an object with
    ``dumps``/``loads``. ``signing_key``: sign every value (str or bytes). ``compressor``: a
    ``walrus.compression`` name (None: never compress); payloads of ``compress_min_length``
    bytes or more are compressed at ``compress_level``. ``raw_ints``: store an ``int`` (not a
    bool) of 64 bits as a counter, so INCRBY can add to it (Django's contract; upstream
    walrus pickles it).
    """

    def __init__(
        self,
        serializer: str | Serializer | None = "pickle",
        signing_key: bytes | str | None = None,
        compressor: str | None = None,
        compress_min_length: int | None = 1024,
        compress_level: int | None = None,
        raw_ints: bool = False,
    ) -> None:
        self.serializer: Serializer = get_serializer(serializer)
        chosen: Compressor | None = get_compressor(compressor)
        if compress_min_length is None:
            chosen = None
        elif (
            isinstance(compress_min_length, bool)
            or not isinstance(compress_min_length, int)
            or compress_min_length < 0
        ):
            raise ValueError(
                f"compress_min_length must be an int >= 0, got {compress_min_length!r}"
            )
        self.compressor = chosen
        self.compress_min_length = compress_min_length
        self.compress_level = chosen.check_level(compress_level) if chosen is not None else None
        self._signer = SignedSerializer(_Bytes(), signing_key) if signing_key else None
        self.raw_ints = raw_ints

    @property
    def signed(self) -> bool:
        """Whether values carry a signature. No Redis work."""
        return self._signer is not None

    def encode(self, value: Any) -> bytes | int:
        """The stored form of ``value``: bytes, or an ``int`` for a counter (``raw_ints``).
        Raises the serializer's TypeError/ValueError for a value it cannot encode. No Redis
        work."""
        if self.raw_ints and type(value) is int and value in _INT64:
            return value
        payload: bytes | str = self.serializer.dumps(value)
        if isinstance(payload, str):  # a custom serializer writing text
            payload = payload.encode("utf-8")
        body = self._body(bytes(payload))
        frame = self._signer.dumps(body) if self._signer is not None else body
        if frame[:1] == _NUL or _COUNTER.match(frame):
            return _NUL + frame  # would read back as a counter (or lose its NUL)
        return frame

    def _body(self, payload: bytes) -> bytes:
        chosen = self.compressor
        if chosen is not None and len(payload) >= (self.compress_min_length or 0):
            return _NUL + chosen.compress(payload, self.compress_level)
        return _NUL + payload if payload[:1] == _NUL else payload

    def is_counter(self, data: bytes) -> bool:
        """Whether stored ``data`` is a counter (read back as an ``int``). No Redis work."""
        return bool(_COUNTER.match(data))

    def decode(self, data: bytes | str) -> Any:
        """The value stored as ``data``. Raises ``BadSignature`` when a signed value does not
        verify (tampered, truncated, or another key), or the serializer's error for bytes it
        cannot read. No Redis work."""
        if isinstance(data, str):  # a client with decode_responses=True (text serializers)
            data = data.encode("utf-8")
        if _COUNTER.match(data):
            return int(data)
        try:
            return self.serializer.loads(self._unframe(data))
        except Exception as error:
            legacy = self._legacy_body(data)
            if legacy is None:
                raise
            try:
                return self.serializer.loads(legacy)
            except Exception:
                raise error from None

    def _unframe(self, data: bytes) -> bytes:
        frame = data[1:] if data[:1] == _NUL else data
        body = self._signer.loads(frame) if self._signer is not None else frame
        if body[:1] != _NUL:
            return bytes(body)
        compressor = _compressor_of(body[1:2])
        return compressor.decompress_fn(body[2:]) if compressor else bytes(body[1:])

    def _legacy_body(self, data: bytes) -> bytes | None:
        """The payload of a value in django_walrus's earlier layout (``[tag] flag payload``),
        or None when ``data`` does not have that shape."""
        try:
            body = self._signer.loads(data) if self._signer is not None else data
        except BadSignature:
            return None
        if body[:1] == _NUL:
            return bytes(body[1:])
        compressor = _compressor_of(body[:1])
        return compressor.decompress_fn(body[1:]) if compressor else None


def _compressor_of(flag: bytes) -> Compressor | None:
    """The compressor whose flag byte is ``flag``; None when no compressor uses it."""
    try:
        return by_flag(flag) if flag else None
    except ValueError:
        return None
