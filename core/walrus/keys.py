"""Deterministic keys from Python values: canonical JSON, never pickle or ``hash()``.

The same call made with keyword arguments in another order, or in another process, gives the
same key; that is what lets a cache or a task lock be shared between workers.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import inspect
import json
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["call_key", "canonical_json", "qualified_name"]


def _default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return {"__set__": sorted(canonical_json(item) for item in value)}
    if isinstance(value, tuple):  # pragma: no cover - json encodes tuples as lists itself
        return list(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return {"__dt__": value.isoformat()}
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    cache_key = getattr(value, "__cache_key__", None)
    if callable(cache_key):
        return cache_key()
    text = repr(value)
    if " at 0x" in text:  # the default object repr names a memory address: not stable
        raise TypeError(
            f"cannot build a stable key from a {type(value).__name__} argument: give it a "
            "__cache_key__() method or a __repr__ without its address, or pass key_fn"
        )
    return {"__repr__": f"{type(value).__module__}.{type(value).__qualname__}:{text}"}


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces; bytes, sets, datetimes and UUIDs are tagged."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_default, ensure_ascii=False)


def qualified_name(fn: Callable[..., Any]) -> str:
    """``module.QualName`` of a function: the namespace of its keys."""
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


# inspect.signature costs more than the rest of a cache hit: compute it once per function.
_signatures: weakref.WeakKeyDictionary[Callable[..., Any], inspect.Signature] = weakref.WeakKeyDictionary()


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return _signatures[fn]
    except (KeyError, TypeError):  # TypeError: not weak-referenceable (cached nowhere)
        pass
    signature = inspect.signature(fn)
    try:
        _signatures[fn] = signature
    except TypeError:
        pass
    return signature


def call_key(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    skip_first: bool = False,
) -> str:
    """``module.qualname:<sha1 of the canonical JSON of the bound arguments>``.

    Arguments are bound to ``fn``'s signature with defaults applied, so ``f(1, b=2)``,
    ``f(b=2, a=1)`` and ``f(1)`` (when ``b`` defaults to 2) share one key. ``skip_first``
    leaves out ``self``/``cls``. Raises TypeError when the arguments do not fit ``fn``.
    """
    try:
        bound = _signature(fn).bind(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValueError):  # builtins without a signature: keep what was given
            payload: Any = [list(args), dict(kwargs)]
        else:
            raise TypeError(f"{qualified_name(fn)}: {exc}") from None
    else:
        bound.apply_defaults()
        items = list(bound.arguments.items())
        if skip_first and items:
            items = items[1:]
        payload = dict(items)
    digest = hashlib.sha1(canonical_json(payload).encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{qualified_name(fn)}:{digest}"
