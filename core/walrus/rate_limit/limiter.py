"""``RateLimit``: ``limit`` events per ``per`` seconds per key (``db.rate_limit(...)``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import WalrusError
from ..keys import call_key
from .decision import PreparedRate, RateLimitResult, check_name
from .execute import decide, reset_rates
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

    def check(self, key: Any, cost: int = 1) -> RateLimitResult:
        """Record ``cost`` events for ``key`` when they fit and return the decision with the
        remaining count and reset/retry times (1 round trip). ``cost=0`` only looks."""
        client = _client_key(key)
        if self.debug:
            return RateLimitResult(True, self.limit_count, self.limit_count, 0.0, 0.0)
        return decide(self.database, self._rates, (client,), cost).result(0)

    def limit(self, key: Any) -> bool:
        """Record an event for ``key``; True when it must be refused (1 round trip)."""
        if key.__class__ is not str or not key.isascii():  # the common case needs no checks
            key = _client_key(key)
        if self.debug:
            return False
        return not decide(self.database, self._rates, (key,)).allowed

    def remaining(self, key: Any) -> int:
        """Events ``key`` may still make now, recording nothing (1 round trip)."""
        return self.check(key, cost=0).remaining

    def reset(self, key: Any) -> bool:
        """Forget every event of ``key`` (1 round trip). True when there was something to forget."""
        return bool(reset_rates(self.database, (self.prepared,), (_client_key(key),)))

    def rate_limited(self, key_function: Callable[..., Any] | None = None) -> Callable[[F], F]:
        """Decorator raising ``RateLimitException`` (with ``retry_after``) once a key is over.

        ``key_function(*args, **kwargs)`` names the caller; by default the key is the function's
        qualified name plus a digest of its bound arguments (keyword order does not matter).
        Each call of the decorated function costs 1 round trip (one script).
        """

        def decorator(fn: F) -> F:
            @wraps(fn)
            def inner(*args: Any, **kwargs: Any) -> Any:
                if key_function is not None:
                    key = key_function(*args, **kwargs)
                else:
                    key = call_key(fn, args, kwargs)
                result = self.check(key)
                if not result.allowed:
                    raise RateLimitException(
                        f"rate limit of {self.limit_count} per {self.per:g} s exceeded for {key!r}",
                        retry_after=result.retry_after,
                    )
                return fn(*args, **kwargs)

            return inner  # type: ignore[return-value]

        return decorator


RateLimitLua = RateLimit
"""Upstream walrus's name for its Lua-backed limiter: here every `RateLimit` runs its check as
one script, so this is the same class."""
