"""A faster command packer for redis-py's hiredis path: the same bytes, less Python.

Recent redis-py (8.x) packs a command for hiredis by passing every argument through a
generator, an ``isinstance`` chain and ``Encoder.encode`` before ``hiredis.pack_command``
(older releases hand the arguments to hiredis as they are): about 0.5 us per argument, a
fifth of a model create (a ~96-argument ``EVALSHA``). ``FastPacker`` encodes the common
argument types (bytes, str, int, float) in one tight loop with the connection's encoding
rules and hands anything else (bool, None, memoryview, bytearray, a subclass, a command name
holding whitespace) to redis-py's own packer, so the bytes sent and the errors raised stay
redis-py's. The outcome-tracking connections (``walrus.retry``) use it; no Redis work of its
own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["FastPacker", "encodes_in_python", "fast_packer"]

_hiredis_pack: Callable[[tuple[bytes, ...]], bytes] | None
try:  # hiredis is optional (the ``hiredis`` extra): without it redis-py's packer is kept
    import hiredis

    # (its stub types the argument as a 1-tuple; it takes any number of items)
    _hiredis_pack = hiredis.pack_command  # type: ignore[assignment]
except ImportError:  # pragma: no cover - exercised only without hiredis
    _hiredis_pack = None


class FastPacker:
    """Packs ``(name, *args)`` of bytes, str, int and float with hiredis directly; any other
    argument type goes to ``base`` (redis-py's packer), whose bytes and errors these equal.
    No Redis work."""

    __slots__ = ("_base", "_encoding", "_errors")

    def __init__(self, base: Any, encoding: str, errors: str) -> None:
        self._base = base
        self._encoding = encoding
        self._errors = errors

    def pack(self, *args: Any) -> list[bytes]:
        """The RESP bytes of one command, as a one-item list (redis-py's packer shape). No
        Redis work."""
        if not args or type(args[0]) not in (str, bytes):
            return self._base.pack(*args)  # type: ignore[no-any-return]
        name = args[0].encode() if type(args[0]) is str else args[0]  # as redis-py: UTF-8
        # redis-py splits a command name holding whitespace ("SCRIPT LOAD") into words.
        if len(name.split()) != 1:
            return self._base.pack(*args)  # type: ignore[no-any-return]
        encoding, errors = self._encoding, self._errors
        out: list[bytes] = [name]
        append = out.append
        for arg in args[1:]:
            kind = type(arg)
            if kind is bytes:
                append(arg)
            elif kind is str:
                append(arg.encode(encoding, errors))
            elif kind is int or kind is float:
                append(repr(arg).encode())  # redis-py's rule for numbers (bool is not int here)
            else:
                return self._base.pack(*args)  # type: ignore[no-any-return]
        return [_hiredis_pack(tuple(out))]  # type: ignore[misc]  # None: not made then


def fast_packer(base: Any, encoder: Any) -> Any:
    """``base`` wrapped in a ``FastPacker`` when it is redis-py's hiredis packer that encodes
    arguments with ``encoder`` first (recent redis-py); otherwise ``base`` itself (redis-py's
    Python packer, or an older hiredis packer that leaves encoding to hiredis). No Redis
    work."""
    if (
        _hiredis_pack is None
        or encoder is None
        or not encodes_in_python(base)
        or base._encode is None  # made without the connection's encoder: str goes to hiredis
    ):
        return base
    return FastPacker(base, encoder.encoding, encoder.encoding_errors)


def encodes_in_python(packer: Any) -> bool:
    """True when ``packer`` is redis-py's hiredis packer of a release that encodes arguments
    with the connection's encoder before hiredis (8.x: it has an ``encode`` hook); False for
    older ones, which hand ``str`` arguments to hiredis (it encodes them as strict UTF-8),
    and for any other packer. No Redis work."""
    return type(packer).__name__ == "HiredisRespSerializer" and hasattr(packer, "_encode")
