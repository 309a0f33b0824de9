"""Small helpers shared by the core: text/bytes conversion and attribute names."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["decode", "decode_dict", "encode", "make_python_attr", "safe_decode_list"]

_ATTR_RE = re.compile(r"[^\w]+")


def encode(value: Any) -> bytes:
    """Return ``value`` as bytes: str is UTF-8 encoded, bytes pass through, anything else is
    str()'d. No Redis work."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(value).encode("utf-8")


def decode(value: Any) -> Any:
    """Return ``value`` as str when it is bytes (UTF-8), otherwise unchanged. No Redis work."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def decode_dict(mapping: dict[Any, Any]) -> dict[Any, Any]:
    """Decode every key and value of a mapping returned by Redis. No Redis work."""
    return {decode(k): decode(v) for k, v in mapping.items()}


def safe_decode_list(values: list[Any]) -> list[Any]:
    """Decode each item of a list returned by Redis. No Redis work."""
    return [decode(v) for v in values]


def make_python_attr(name: Any) -> str:
    """Turn a Redis key into a valid Python attribute name (``stream-1`` -> ``stream_1``). No Redis
    work."""
    text = decode(name)
    attr = _ATTR_RE.sub("_", str(text))
    if attr and attr[0].isdigit():
        attr = "_" + attr
    return attr
