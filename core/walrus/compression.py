"""Compressors for cached values: zlib and lzma (standard library), zstd (``zstandard``) and
lz4 (``lz4``), each known by a name and by the one flag byte stored in front of what it wrote.

A reader finds the algorithm from that byte, so a cache can change its compressor and still
read everything written before. Names accept django-redis's compressor class paths too
(``django_redis.compressors.zstd.ZStdCompressor`` is ``"zstd"``), so its settings carry over.
"""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .exceptions import WalrusError

__all__ = [
    "COMPRESSORS",
    "CompressingSerializer",
    "Compressor",
    "CompressorUnavailableError",
    "by_flag",
    "get_compressor",
]


class CompressorUnavailableError(WalrusError, ImportError):
    """A compressor was named whose package is not installed (the message says which)."""


@dataclass(frozen=True)
class Compressor:
    """One algorithm: ``compress(data, level)`` and ``decompress(data)`` on bytes; ``level``
    None means the algorithm's default; ``levels`` is the accepted range (inclusive)."""

    name: str
    flag: bytes
    levels: tuple[int, int]
    compress_fn: Callable[[bytes, int | None], bytes]
    decompress_fn: Callable[[bytes], bytes]

    def check_level(self, level: Any) -> int | None:
        """``level`` as an int in range, or None; ValueError naming the range otherwise. No Redis
        work."""
        if level is None:
            return None
        low, high = self.levels
        if isinstance(level, bool) or not isinstance(level, int) or not low <= level <= high:
            raise ValueError(
                f"{self.name} compression level must be an int from {low} to {high}, got {level!r}"
            )
        return level

    def compress(self, data: bytes, level: int | None = None) -> bytes:
        """``flag + compressed data``. No Redis work."""
        return self.flag + self.compress_fn(data, level)


def _zlib(data: bytes, level: int | None) -> bytes:
    return zlib.compress(data, -1 if level is None else level)


def _lzma(data: bytes, level: int | None) -> bytes:
    return lzma.compress(data, preset=4 if level is None else level)  # django-redis's default too


def _zstd_module() -> Any:
    try:
        import zstandard
    except ImportError as exc:
        raise CompressorUnavailableError(
            "the zstd compressor needs the 'zstandard' package: pip install zstandard "
            "(or pip install '.[zstd]' in a checkout of the walrus suite)"
        ) from exc
    return zstandard


def _lz4_module() -> Any:
    try:
        import lz4.frame
    except ImportError as exc:
        raise CompressorUnavailableError(
            "the lz4 compressor needs the 'lz4' package: pip install lz4 "
            "(or pip install '.[lz4]' in a checkout of the walrus suite)"
        ) from exc
    return lz4.frame


def _zstd(data: bytes, level: int | None) -> bytes:
    return bytes(_zstd_module().ZstdCompressor(level=3 if level is None else level).compress(data))


def _unzstd(data: bytes) -> bytes:
    return bytes(_zstd_module().ZstdDecompressor().decompress(data))


def _lz4(data: bytes, level: int | None) -> bytes:
    return bytes(_lz4_module().compress(data, compression_level=0 if level is None else level))


def _unlz4(data: bytes) -> bytes:
    return bytes(_lz4_module().decompress(data))


COMPRESSORS: dict[str, Compressor] = {
    "zlib": Compressor("zlib", b"\x01", (-1, 9), _zlib, zlib.decompress),
    "lzma": Compressor("lzma", b"\x02", (0, 9), _lzma, lzma.decompress),
    "zstd": Compressor("zstd", b"\x03", (-7, 22), _zstd, _unzstd),
    "lz4": Compressor("lz4", b"\x04", (0, 16), _lz4, _unlz4),
}
"""Every compressor by name. The flag bytes are stored data: never renumber them."""
_BY_FLAG = {c.flag: c for c in COMPRESSORS.values()}
# django-redis's class names (module path ignored), for settings that move over from it.
_DJANGO_REDIS = {
    "zlibcompressor": "zlib",
    "lzmacompressor": "lzma",
    "zstdcompressor": "zstd",
    "lz4compressor": "lz4",
    "identitycompressor": None,
}


def get_compressor(name: Any) -> Compressor | None:
    """The compressor called ``name`` ("zlib", "lzma", "zstd", "lz4", or a django-redis
    compressor class path), None for None/"none"/django-redis's identity compressor.
    ValueError for an unknown name; ``CompressorUnavailableError`` when its package is
    missing (checked here, not at the first write). No Redis work."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError(f"compressor must be a name such as 'zstd', got {type(name).__name__}")
    key = name.strip().lower()
    if key in ("", "none"):
        return None
    if key not in COMPRESSORS:
        tail = key.rsplit(".", 1)[-1]
        if tail not in _DJANGO_REDIS:
            raise ValueError(
                f"unknown compressor {name!r}: expected one of {', '.join(COMPRESSORS)} or None"
            )
        mapped = _DJANGO_REDIS[tail]
        if mapped is None:
            return None
        key = mapped
    compressor = COMPRESSORS[key]
    if key == "zstd":
        _zstd_module()
    elif key == "lz4":
        _lz4_module()
    return compressor


def by_flag(flag: bytes) -> Compressor:
    """The compressor that wrote a payload starting with ``flag``; ValueError if none did. No Redis
    work."""
    compressor = _BY_FLAG.get(flag)
    if compressor is None:
        raise ValueError(f"unknown compression flag {flag!r}")
    return compressor


class CompressingSerializer:
    """Serializer adaptor for the core ``Cache``: payloads of at least ``min_length`` bytes are
    stored as ``NUL + flag + compressed``; shorter ones as they are (a payload that itself
    starts with NUL gets one NUL in front). Reads every compressor's output."""

    def __init__(
        self, inner: Any, compressor: Compressor, min_length: int = 1024, level: int | None = None
    ) -> None:
        if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 0:
            raise ValueError(f"compress_min_length must be an int >= 0, got {min_length!r}")
        self.inner = inner
        self.compressor = compressor
        self.min_length = min_length
        self.level = compressor.check_level(level)

    def dumps(self, value: Any) -> bytes:
        """No Redis work."""
        payload: bytes | str = self.inner.dumps(value)
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if len(payload) >= self.min_length:
            return _NUL + self.compressor.compress(payload, self.level)
        return _NUL + payload if payload[:1] == _NUL else payload

    def loads(self, data: bytes) -> Any:
        """No Redis work."""
        if data[:1] == _NUL:
            flag = data[1:2]
            data = by_flag(flag).decompress_fn(data[2:]) if flag in _BY_FLAG else data[1:]
        return self.inner.loads(data)


_NUL = b"\x00"
