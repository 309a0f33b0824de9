"""What the sync and asyncio halves of ``WalrusCache`` share: the steps a cache call is
made of (sans-IO) and which errors ``IGNORE_EXCEPTIONS`` covers."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator
from functools import wraps
from typing import Any, TypeVar, cast

from redis import exceptions as redis_exceptions
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from walrus import events

__all__ = ["Step", "Steps", "guarded"]

logger = logging.getLogger("django_walrus.cache")
F = TypeVar("F", bound=Callable[..., Any])

# IGNORE_EXCEPTIONS covers an unreachable, overloaded or slow server. Refused credentials are
# ConnectionError subclasses in redis-py but a configuration error: they always raise, and so
# does every reply error (ResponseError: wrong type, OOM, ...).
_IGNORED = (RedisConnectionError, RedisTimeoutError)
_NEVER_IGNORED: tuple[type[BaseException], ...] = tuple(
    cls
    for cls in (
        getattr(redis_exceptions, name, None)
        for name in ("AuthenticationError", "AuthorizationError", "ExternalAuthProviderError")
    )
    if isinstance(cls, type)
)


def _ignorable(cache: Any, exc: BaseException, operation: str) -> bool:
    """Whether IGNORE_EXCEPTIONS covers ``exc`` (then it is logged with its traceback)."""
    if not cache._ignore_exceptions or isinstance(exc, _NEVER_IGNORED):
        return False
    logger.warning("cache %s failed, treated as a miss: %r", operation, exc, exc_info=exc)
    if events.listeners:
        events.emit("cache", cache.event_name, "error")
    return True


# A cache call, sans-IO: a generator that yields (kind, payload) steps and receives each reply,
# driven by ``WalrusCache._run`` (sync) or ``cache_async._arun`` (asyncio),
# so both send the same commands. Kinds: a command on the primary, a read (a replica may
# answer), MULTI/EXEC of several commands, a pipeline without MULTI, MGET and DEL of many keys (per
# slot on a cluster) and a walrus script (name, keys, args).
Step = tuple[str, Any]
"""One step of a cache call: (kind, payload)."""
Steps = Generator[Step, Any, Any]
"""A cache call: yields steps, receives their replies, returns the call's result."""
CMD, READ, MULTI, PIPE, MGET, DELETE, SCRIPT = (
    "cmd",
    "read",
    "multi",
    "pipe",
    "mget",
    "delete",
    "script",
)


def _incr_error(key: Any, exc: ResponseError) -> Exception:
    """``incr``'s error for a reply error: TypeError for "not an integer", else the reply."""
    # Only that reply means "not a number"; OOM, READONLY and the rest keep their type.
    if "not an integer" not in str(exc) and "not a number" not in str(exc):
        return exc
    return TypeError(f"cache value of {key!r} is not an integer: {exc}")


def guarded(default: Any) -> Callable[[F], F]:
    """With IGNORE_EXCEPTIONS, a cache method's connection and timeout errors become
    ``default`` (a value, or ``default(args, kwargs)`` when callable), logged; for the sync
    and the async methods alike. No Redis work of its own."""

    def decorate(method: F) -> F:
        if inspect.iscoroutinefunction(method):

            @wraps(method)
            async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(self, *args, **kwargs)
                except _IGNORED as exc:
                    return _fallback(self, exc, method.__name__, default, args, kwargs)

            return cast(F, async_wrapper)

        @wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except _IGNORED as exc:
                return _fallback(self, exc, method.__name__, default, args, kwargs)

        return cast(F, wrapper)

    return decorate


def _fallback(
    cache: Any,
    exc: BaseException,
    operation: str,
    default: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    if not _ignorable(cache, exc, operation):
        try:
            raise exc
        finally:
            del exc  # else frame<->traceback cycle: client kept until GC
    return default(args, kwargs) if callable(default) else default
