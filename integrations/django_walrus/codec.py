"""How the Django cache backend turns values into stored bytes and back.

Integers (not bools) are stored as plain decimal digits so ``incr``/``decr`` run server-side in
one atomic step. Everything else is ``flag + payload``: the serializer's bytes, zlib-compressed
when at least ``compress_min_length`` long (flag ``\\x01``) or as is (flag ``\\x00``), then MAC
signed when a signing key is set. A value whose signature does not verify is never
deserialized: the cache reports a miss.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from walrus.serializers import SignedSerializer, get_serializer

__all__ = ["ValueCodec"]

_INT_RE = re.compile(rb"-?[0-9]+\Z")
_RAW, _ZLIB = b"\x00", b"\x01"


class _Compressing:
    """Serializer adaptor adding the compression flag byte."""

    def __init__(self, inner: Any, min_length: int | None, level: int) -> None:
        self.inner = inner
        self.min_length = min_length
        self.level = level

    def dumps(self, value: Any) -> bytes:
        payload = self.inner.dumps(value)
        if self.min_length is not None and len(payload) >= self.min_length:
            return _ZLIB + zlib.compress(payload, self.level)
        return _RAW + payload

    def loads(self, data: bytes) -> Any:
        flag, payload = data[:1], data[1:]
        if flag == _ZLIB:
            payload = zlib.decompress(payload)
        elif flag != _RAW:
            raise ValueError("unknown cache value format")
        return self.inner.loads(payload)


class ValueCodec:
    """Encode/decode cache values (see the module docstring for the format)."""

    def __init__(
        self,
        serializer: Any = "pickle",
        signing_key: bytes | str | None = None,
        compress_min_length: int | None = None,
        compress_level: int = 6,
    ) -> None:
        inner: Any = _Compressing(get_serializer(serializer), compress_min_length, compress_level)
        if signing_key:
            key = signing_key.encode() if isinstance(signing_key, str) else signing_key
            inner = SignedSerializer(inner, key)
        self._inner = inner

    def encode(self, value: Any) -> bytes | int:
        if type(value) is int:
            return value
        return bytes(self._inner.dumps(value))

    def decode(self, data: bytes) -> Any:
        """Decode stored bytes; raises walrus.serializers.BadSignature on tampered data."""
        if _INT_RE.match(data):
            return int(data)
        return self._inner.loads(data)
