"""Small helpers shared by limpyd modules: key building and value normalisation.

Every value limpyd sends to Redis is first normalised to ``str``. Bytes are decoded with
``surrogateescape``, and the connection encodes with the same error handler, so arbitrary
binary values reach Redis unchanged and read back as ``str`` that re-encode to the same bytes
(``value.encode("utf-8", "surrogateescape")``).
"""

from __future__ import annotations

import decimal
import uuid
from typing import Any

__all__ = ["ENCODING", "ENCODING_ERRORS", "make_key", "normalize", "to_bytes", "unique_key"]

ENCODING = "utf-8"
"""Encoding of str values and key parts sent to Redis."""
ENCODING_ERRORS = "surrogateescape"
"""Error handler of that encoding: undecodable bytes round-trip through str unchanged."""


def make_key(*parts: Any) -> str:
    """Join key parts with ``:`` (redis-limpyd's layout); parts are normalised first. No Redis
    work."""
    return ":".join(normalize(part, "key part") for part in parts)


def normalize(value: Any, what: str = "value") -> str:
    """The text Redis stores for ``value``; ``what`` names the field or argument in errors.

    Accepts str, bytes-like, int, float and Decimal. ``None`` and bools are refused with a
    ``TypeError`` (redis-py refuses them too; use ``delete()`` to clear a field).
    No Redis work.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode(ENCODING, ENCODING_ERRORS)
    if value is None or isinstance(value, bool):
        raise TypeError(
            f"{what}: {value!r} cannot be stored in Redis; expected str, bytes, int or float"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(
        f"{what}: a {type(value).__name__} cannot be stored in Redis; expected str, bytes, "
        "int or float"
    )


def to_bytes(value: str) -> bytes:
    """The exact bytes Redis holds for a value read back from limpyd. No Redis work."""
    return value.encode(ENCODING, ENCODING_ERRORS)


def unique_key(connection: Any, prefix: str | None = None) -> str:
    """A key name (``<prefix>:<uuid4 hex>`` with a prefix) that does not exist on
    ``connection`` at the time of the call. One round trip per attempt (EXISTS)."""
    while True:
        name = uuid.uuid4().hex
        key = make_key(prefix, name) if prefix else name
        if not connection.exists(key):
            return key
