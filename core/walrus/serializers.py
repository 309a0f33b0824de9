"""Value serializers for caches: pickle, JSON, msgpack, and MAC signing around any of them.

A serializer is any object with ``dumps(value) -> bytes`` and ``loads(bytes) -> value``.
Serializers turn *values* into bytes; keys are never built with them (see ``walrus.keys``).

Pickle runs code on load, so a pickled value is only as safe as whoever could write it.
``SignedSerializer`` prefixes every payload with a 32-byte keyed BLAKE2b tag (a MAC, like
HMAC-SHA256, at under half the cost); a payload whose tag does not verify raises
``BadSignature`` before the inner serializer ever sees it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
from typing import Any, Protocol

from .exceptions import WalrusError

__all__ = [
    "BadSignature",
    "JSONSerializer",
    "MsgpackSerializer",
    "PickleSerializer",
    "Serializer",
    "SignedSerializer",
    "get_serializer",
]


class Serializer(Protocol):
    """What a cache needs from a serializer."""

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``. No Redis work."""
        ...

    def loads(self, data: bytes) -> Any:
        """The value ``data`` holds. No Redis work."""
        ...


class BadSignature(WalrusError, ValueError):  # noqa: N818  upstream name
    """A signed payload was tampered with, truncated, or signed with another key."""


class PickleSerializer:
    """pickle at the highest protocol: any Python object; never load data a stranger wrote."""

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``. No Redis work."""
        return pickle.dumps(value, protocol=self.protocol)

    def loads(self, data: bytes) -> Any:
        """The value ``data`` holds. No Redis work."""
        return pickle.loads(data)  # noqa: S301 - callers sign or trust the writer


class JSONSerializer:
    """Compact UTF-8 JSON: safe to load, but only JSON types round-trip (tuples become lists)."""

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``. No Redis work."""
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def loads(self, data: bytes) -> Any:
        """The value ``data`` holds. No Redis work."""
        return json.loads(data)


class MsgpackSerializer:
    """msgpack (the ``msgpack`` extra): compact and safe to load; bytes stay bytes."""

    def __init__(self) -> None:
        try:
            import msgpack
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise WalrusError(
                "the msgpack serializer needs: pip install msgpack (or pip install "
                "'.[msgpack]' in a checkout of the walrus suite)"
            ) from exc
        self._msgpack = msgpack

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``. No Redis work."""
        return bytes(self._msgpack.packb(value, use_bin_type=True))

    def loads(self, data: bytes) -> Any:
        """The value ``data`` holds. No Redis work."""
        return self._msgpack.unpackb(data, raw=False, strict_map_key=False)


class SignedSerializer:
    """Wraps a serializer: payload = 32-byte keyed BLAKE2b tag + inner payload.

    ``loads`` raises ``BadSignature`` when the tag does not match, so a forged pickle is
    rejected without being unpickled. Costs one MAC per call (under a microsecond).
    """

    TAG_SIZE = 32

    def __init__(self, inner: Serializer, key: bytes | str) -> None:
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not isinstance(key, bytes) or not key:
            raise ValueError("SignedSerializer key must be non-empty bytes or str")
        if len(key) > 64:  # BLAKE2b takes keys of at most 64 bytes: compress longer ones
            key = hashlib.blake2b(key, person=b"walrus-sign-key").digest()
        self.inner = inner
        self._key = key
        # Keyed once: copying this state is about half the cost of keying a new hasher per
        # value. It is never updated itself, so concurrent copies are safe.
        self._keyed = hashlib.blake2b(key=key, digest_size=self.TAG_SIZE)

    def _tag(self, payload: bytes) -> bytes:
        hasher = self._keyed.copy()
        hasher.update(payload)
        return hasher.digest()

    def dumps(self, value: Any) -> bytes:
        """The bytes stored for ``value``. No Redis work."""
        payload = self.inner.dumps(value)
        return self._tag(payload) + payload

    def loads(self, data: bytes) -> Any:
        """The value ``data`` holds. No Redis work."""
        if not isinstance(data, (bytes, bytearray)) or len(data) < self.TAG_SIZE:
            raise BadSignature("signed value is too short to carry a signature")
        tag, payload = bytes(data[: self.TAG_SIZE]), bytes(data[self.TAG_SIZE :])
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise BadSignature(
                "signature does not match: value was tampered with or signed with another key"
            )
        return self.inner.loads(payload)


_BY_NAME = {"pickle": PickleSerializer, "json": JSONSerializer, "msgpack": MsgpackSerializer}


def get_serializer(spec: str | Serializer | None) -> Serializer:
    """A serializer from a name (``"pickle"``, ``"json"``, ``"msgpack"``), an object with
    ``dumps``/``loads``, or None (pickle). Raises ValueError for an unknown name. No Redis work."""
    if spec is None:
        return PickleSerializer()
    if isinstance(spec, str):
        try:
            return _BY_NAME[spec.lower()]()  # type: ignore[no-any-return]
        except KeyError:
            raise ValueError(
                f"unknown serializer {spec!r}: expected one of {sorted(_BY_NAME)} or an object "
                "with dumps() and loads()"
            ) from None
    if callable(getattr(spec, "dumps", None)) and callable(getattr(spec, "loads", None)):
        return spec
    raise TypeError(
        f"serializer must be a name or have dumps() and loads(), got {type(spec).__name__}"
    )
