"""``RateLimit``: ``limit`` events per ``per`` seconds per key (``db.rate_limit(...)``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from ..calls import is_async_client, ready, then
from ..exceptions import WalrusError
from ..keys import call_key
from .decision import Decision, PreparedRate, RateLimitResult, check_name
from .execute import decide, reset_rates, storage_keys
from .rates import DEFAULT_STRATEGY

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = ["RateLimit", "RateLimitException", "RateLimitLua"]

F = TypeVar("F", bound=Callable[..., Any])


class RateLimitException(WalrusError):  # noqa: N818  upstream name
    """Raised by ``rate_limited`` when a call is over its limit.

    ``retry_after`` is the number of seconds (float) until the call would be allowed.
    """

    def __init__(self, message: str = "rate limit exceeded", retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _client_key(key: Any) -> str:
    if isinstance(key, bytes):
        try:
            key = key.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"rate limit key must be UTF-8 when given as bytes, got {key[:50]!r}"
            ) from None
    if not isinstance(key, str):
        raise TypeError(f"rate limit key must be str or bytes, got {type(key).__name__}")
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"rate limit key {key[:50]!r} cannot be encoded as UTF-8 ({exc.reason})"
            ) from None
    return key


class RateLimit:
    """Allow ``limit`` events per ``per`` seconds for each key; ``debug`` allows everything.

    ``strategy``: "moving-window" (default: an exact sliding log, one list entry per event),
    "fixed-window", "sliding-window-counter" or "gcra" (docs/ratelimiting.md compares them).
    Keys: ``<name>:<key>`` for moving-window (upstream walrus's layout), ``<name>#f:<key>``,
    ``#s:``, ``#g:`` for the others; hash-tagged on Redis Cluster. TypeError/ValueError for a
    bad name, rate or strategy, here, before anything is sent.
    """

    def __init__(
        self,
        database: Database,
        name: str,
        limit: int = 5,
        per: float = 60,
        debug: bool = False,
        strategy: str = DEFAULT_STRATEGY,
    ) -> None:
        self.prepared = PreparedRate(check_name(name), limit, per, strategy)
        self._rates = (self.prepared,)
        self.limit_count = self.prepared.limit
        self.per = self.prepared.per
        self.strategy = strategy
        self.database = database
        self.name = name
        self.debug = debug
        # On an AsyncDatabase every call below returns an awaitable of the same result.
        self._async = is_async_client(database)

    def _decide(self, key: str, cost: int = 1) -> Decision:
        if self._async:
            from ..asyncio.rate_limit import adecide

            return adecide(self.database, self._rates, (key,), cost)  # type: ignore[return-value,arg-type]
        return decide(self.database, self._rates, (key,), cost)

    def check(self, key: Any, cost: int = 1) -> RateLimitResult:
        """Record ``cost`` events for ``key`` when they fit and return the decision with the
        remaining count and reset/retry times (1 round trip). ``cost=0`` only looks."""
        client = _client_key(key)
        if self.debug:
            allowed = RateLimitResult(True, self.limit_count, self.limit_count, 0.0, 0.0)
            return ready(allowed, self._async)
        return then(self._decide(client, cost), _first_result, self._async)

    def limit(self, key: Any) -> bool:
        """Record an event for ``key``; True when it must be refused (1 round trip)."""
        if key.__class__ is not str or not key.isascii():  # the common case needs no checks
            key = _client_key(key)
        if self.debug:
            return ready(False, self._async)
        if self._async:
            return then(self._decide(key), _refused, True)
        return not decide(self.database, self._rates, (key,)).allowed

    def remaining(self, key: Any) -> int:
        """Events ``key`` may still make now, recording nothing (1 round trip)."""
        return then(self.check(key, cost=0), _remaining, self._async)

    def reset(self, key: Any) -> bool:
        """Forget every event of ``key`` (1 round trip). True when there was something to forget."""
        client = _client_key(key)
        if self._async:
            keys = storage_keys(self.database, self._rates, (client,))
            return then(self.database.unlink(*keys), bool, True)
        return bool(reset_rates(self.database, self._rates, (client,)))

    def rate_limited(self, key_function: Callable[..., Any] | None = None) -> Callable[[F], F]:
        """Decorator raising ``RateLimitException`` (with ``retry_after``) once a key is over.

        ``key_function(*args, **kwargs)`` names the caller; by default the key is the function's
        qualified name plus a digest of its bound arguments (keyword order does not matter).
        Each call of the decorated function costs 1 round trip (one script).
        """

        def decorator(fn: F) -> F:
            def key_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                if key_function is not None:
                    return key_function(*args, **kwargs)
                return call_key(fn, args, kwargs)

            if inspect.iscoroutinefunction(fn):
                # An async function: awaits the decision on an AsyncDatabase (a sync
                # client decides inline, as before).
                @wraps(fn)
                async def ainner(*args: Any, **kwargs: Any) -> Any:
                    key = key_of(args, kwargs)
                    result: Any = self.check(key)
                    self._raise_if_refused(key, await result if self._async else result)
                    return await fn(*args, **kwargs)

                return ainner  # type: ignore[return-value]
            if self._async:
                raise TypeError(
                    f"rate_limited on an AsyncDatabase decorates async functions only, "
                    f"got {fn!r}; use a limiter of a sync Database for it"
                )

            @wraps(fn)
            def inner(*args: Any, **kwargs: Any) -> Any:
                key = key_of(args, kwargs)
                self._raise_if_refused(key, self.check(key))
                return fn(*args, **kwargs)

            return inner  # type: ignore[return-value]

        return decorator

    def _raise_if_refused(self, key: Any, result: RateLimitResult) -> None:
        if not result.allowed:
            raise RateLimitException(
                f"rate limit of {self.limit_count} per {self.per:g} s exceeded for {key!r}",
                retry_after=result.retry_after,
            )


def _first_result(decision: Decision) -> RateLimitResult:
    return decision.result(0)


def _refused(decision: Decision) -> bool:
    return not decision.allowed


def _remaining(result: RateLimitResult) -> int:
    return result.remaining


RateLimitLua = RateLimit
"""Upstream walrus's name for its Lua-backed limiter: here every `RateLimit` runs its check as
one script, so this is the same class."""
