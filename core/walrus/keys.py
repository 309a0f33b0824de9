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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["bind_arguments", "call_key", "canonical_json", "qualified_name"]


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


# One encoder for every call: json.dumps with options builds a new JSONEncoder each time.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), default=_default, ensure_ascii=False
)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces; bytes, sets, datetimes and UUIDs are tagged. No Redis
    work."""
    return _ENCODER.encode(value)


def qualified_name(fn: Callable[..., Any]) -> str:
    """``module.QualName`` of a function: the namespace of its keys. No Redis work."""
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


_EMPTY = inspect.Parameter.empty
_PLAIN = inspect.Parameter.POSITIONAL_OR_KEYWORD


class _Binder:
    """``fn``'s signature, plus a fast path when every parameter is plain positional-or-keyword
    (most cached functions): Signature.bind costs more than the rest of a cache hit."""

    __slots__ = ("defaults", "names", "prefix", "signature", "simple")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.prefix = qualified_name(fn)
        self.signature = inspect.signature(fn)
        params = list(self.signature.parameters.values())
        self.simple = all(p.kind is _PLAIN for p in params)
        self.names = tuple(p.name for p in params)
        self.defaults = tuple(p.default for p in params)

    def arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter's value, defaults applied (in no particular order); TypeError when
        the call does not fit."""
        names = self.names
        if self.simple and len(args) <= len(names):
            bound = dict(zip(names, args, strict=False))  # fewer args than names is fine
            if not kwargs and len(args) == len(names):
                return bound
            fits = True
            for name, value in kwargs.items():
                if name in bound or name not in names:
                    fits = False  # duplicate or unknown: Signature.bind names the problem
                    break
                bound[name] = value
            if fits:
                for name, default in zip(names, self.defaults, strict=True):
                    if name not in bound:
                        if default is _EMPTY:
                            fits = False
                            break
                        bound[name] = default
            if fits:
                return bound
        return bind_arguments(self.signature, args, kwargs)


def bind_arguments(
    signature: inspect.Signature,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    flatten_kwargs: bool = False,
) -> dict[str, Any]:
    """Every parameter's value for a call, defaults applied (``f(1)``, ``f(a=1)`` and
    ``f(1, b=2)`` when ``b`` defaults to 2 give the same dict). ``flatten_kwargs``: the items
    of a ``**kwargs`` parameter become top-level names (so that they can be picked by name).
    TypeError when the call does not fit the signature. No Redis work."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    if not flatten_kwargs:
        return dict(bound.arguments)
    arguments: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        else:
            arguments[name] = value
    return arguments


# inspect.signature costs more than the rest of a cache hit: build the binder once per function.
_binders: weakref.WeakKeyDictionary[Callable[..., Any], _Binder] = weakref.WeakKeyDictionary()


def _binder(fn: Callable[..., Any]) -> _Binder:
    try:
        return _binders[fn]
    except (KeyError, TypeError):  # TypeError: not weak-referenceable (cached nowhere)
        pass
    binder = _Binder(fn)
    try:
        _binders[fn] = binder
    except TypeError:
        pass
    return binder


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
    No Redis work.
    """
    payload: Any
    try:
        binder = _binder(fn)
    except ValueError:  # builtins without a signature: keep what was given
        prefix, payload = qualified_name(fn), [list(args), dict(kwargs)]
    else:
        prefix = binder.prefix
        try:
            payload = binder.arguments(args, kwargs)
        except TypeError as exc:
            raise TypeError(f"{prefix}: {exc}") from None
        if skip_first and binder.names:
            payload.pop(binder.names[0], None)
    try:
        text = canonical_json(payload).encode("utf-8")
    except TypeError as exc:  # e.g. a dict whose keys mix types cannot be sorted
        raise TypeError(f"{prefix}: the arguments cannot make a cache key: {exc}") from None
    except UnicodeEncodeError as exc:  # a lone surrogate in a str argument
        raise ValueError(
            f"{prefix}: the arguments cannot make a cache key: {exc.reason} in a str"
        ) from None
    digest = hashlib.sha1(text, usedforsecurity=False).hexdigest()
    return f"{prefix}:{digest}"
