"""How the Django cache backend turns values into stored bytes and back.

Integers (not bools) are stored as plain decimal digits so ``incr``/``decr`` run server-side in
one atomic step. Everything else is ``flag + payload``: the serializer's bytes as is (flag
``\\x00``) or, when at least ``compress_min_length`` long, compressed by the configured
``walrus.compression`` compressor behind its own flag (zlib ``\\x01``, lzma ``\\x02``, zstd
``\\x03``, lz4 ``\\x04``; any of them reads back whatever the setting is now), then MAC
signed when a signing key is set. A value whose signature does not verify is never
deserialized: the cache reports a miss.
"""

from __future__ import annotations

import re
from typing import Any

from walrus.compression import Compressor, by_flag, get_compressor
from walrus.serializers import SignedSerializer, get_serializer

__all__ = ["ValueCodec"]

_INT_RE = re.compile(rb"-?[0-9]+\Z")
_RAW = b"\x00"


class _Compressing:
    """Serializer adaptor adding the compression flag byte."""

    def __init__(
        self, inner: Any, min_length: int | None, level: int | None, compressor: Compressor | None
    ) -> None:
        self.inner = inner
        self.min_length = min_length if compressor is not None else None
        self.level = level
        self.compressor = compressor

    def dumps(self, value: Any) -> bytes:
        payload: bytes = self.inner.dumps(value)
        if self.min_length is not None and len(payload) >= self.min_length:
            return self.compressor.compress(payload, self.level)  # type: ignore[union-attr]
        return _RAW + payload

    def loads(self, data: bytes) -> Any:
        flag, payload = data[:1], data[1:]
        if flag != _RAW:
            payload = by_flag(flag).decompress_fn(payload)
        return self.inner.loads(payload)


class ValueCodec:
    """Encode/decode cache values (see the module docstring for the format)."""

    def __init__(
        self,
        serializer: Any = "pickle",
        signing_key: bytes | str | None = None,
        compress_min_length: int | None = None,
        compress_level: int | None = 6,
        compressor: str | None = "zlib",
    ) -> None:
        chosen = get_compressor(compressor)
        level = chosen.check_level(compress_level) if chosen is not None else None
        inner: Any = _Compressing(get_serializer(serializer), compress_min_length, level, chosen)
        if signing_key:
            key = signing_key.encode() if isinstance(signing_key, str) else signing_key
            inner = SignedSerializer(inner, key)
        self._inner = inner

    def encode(self, value: Any) -> bytes | int:
        """No Redis work."""
        if type(value) is int:
            return value
        return bytes(self._inner.dumps(value))

    def decode(self, data: bytes) -> Any:
        """Decode stored bytes; raises walrus.serializers.BadSignature on tampered data. No Redis
        work."""
        if _INT_RE.match(data):
            return int(data)
        return self._inner.loads(data)
