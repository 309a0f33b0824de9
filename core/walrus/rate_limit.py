"""``RateLimit``: a sliding-window limit of ``limit`` events per ``per`` seconds per key.

Key layout is upstream walrus's: ``<name>:<key>`` holds a list of event timestamps, newest
first, at most ``limit`` long. Differences from upstream (docs/compat.md): the decision and
the write are one Lua call on the server's clock, so concurrent clients cannot both take the
last slot and skewed client clocks do not matter; lists expire with the window (upstream
used ``limit * 2`` seconds, which could reset a limit early or keep keys too long).

On Redis Cluster the key part is hash-tagged, ``<name>:{<key>}``, so the stacked limits of
one caller (several names, the same key) are decided by one script in one slot; limits of
one call whose keys cannot share a slot raise ``CrossSlotError`` before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from .cluster import check_same_slot, hash_tag, is_cluster
from .exceptions import WalrusError
from .keys import call_key

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = [
    "LimitSpec",
    "RateLimit",
    "RateLimitException",
    "RateLimitLua",
    "RateLimitResult",
    "check_limits",
    "parse_rate",
]

F = TypeVar("F", bound=Callable[..., Any])

_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0,
    "h": 3600.0, "hour": 3600.0,
    "d": 86400.0, "day": 86400.0,
}  # fmt: skip
_RATE_RE = re.compile(
    r"^\s*(\d+)\s*(?:/|per)\s*(\d+(?:\.\d+)?)?\s*([a-z]+?)s?\s*$", re.IGNORECASE
)


class RateLimitException(WalrusError):
    """Raised by ``rate_limited`` when a call is over its limit.

    ``retry_after`` is the number of seconds (float) until the call would be allowed.
    """

    def __init__(self, message: str = "rate limit exceeded", retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_rate(rate: str) -> tuple[int, float]:
    """``"5/minute"``, ``"10 per hour"``, ``"3/30s"`` -> ``(limit, per_seconds)``.

    Raises ValueError naming the rate when it cannot be read.
    """
    if not isinstance(rate, str):
        raise TypeError(f"rate must be a str like '5/minute', got {type(rate).__name__}")
    match = _RATE_RE.match(rate)
    unit = match.group(3).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"cannot read rate {rate!r}: expected '<count>/<unit>' or '<count>/<n><unit>' with "
            "unit second, minute, hour or day (e.g. '5/minute', '100/30s')"
        )
    limit = int(match.group(1))
    per = float(match.group(2) or 1) * _UNITS[unit]
    if limit < 1 or per <= 0:
        raise ValueError(f"rate {rate!r} must allow at least 1 event in a positive window")
    return limit, per


def _check_limit_args(limit: Any, per: Any) -> tuple[int, float]:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    if isinstance(per, bool) or not isinstance(per, (int, float)) or not per > 0:
        raise ValueError(f"per must be a positive number of seconds, got {per!r}")
    return limit, float(per)


@dataclass(frozen=True)
class LimitSpec:
    """One limit on one key: ``limit`` events per ``per`` seconds, stored at ``<name>:<key>``."""

    name: str
    key: str
    limit: int
    per: float

    def __post_init__(self) -> None:
        _check_limit_args(self.limit, self.per)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"limit name must be a non-empty str, got {self.name!r}")
        if not isinstance(self.key, str):
            raise TypeError(f"limit key must be a str, got {type(self.key).__name__}")

    @property
    def redis_key(self) -> str:
        """The single-server key ``<name>:<key>`` (see ``storage_key`` for any server)."""
        return f"{self.name}:{self.key}"

    def storage_key(self, database: Any) -> str:
        """The key on ``database``: ``<name>:<key>``, or ``<name>:{<key>}`` on Redis Cluster
        (a key that already holds a ``{tag}`` is kept as is). ValueError for an empty key on
        a cluster (it cannot be tagged)."""
        if not is_cluster(database):
            return self.redis_key
        if not self.key:
            raise ValueError(f"rate limit {self.name!r}: an empty key cannot be hash-tagged on Redis Cluster")
        return f"{self.name}:{hash_tag(self.key)}"


@dataclass(frozen=True)
class RateLimitResult:
    """The decision for one limit: times in seconds (float) from the server's clock."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float


def check_limits(
    database: Database, specs: Sequence[LimitSpec], cost: int = 1, client: Any = None
) -> list[RateLimitResult]:
    """Check and record ``cost`` events against every limit in ``specs``: one Lua call.

    All-or-nothing: the events are recorded only when every limit allows them, so a refused
    request spends no budget of any stacked limit. ``cost=0`` only looks. Returns one result
    per spec, in order; ``allowed`` is the joint decision. On Redis Cluster the specs' keys
    must share a slot (same key, or a common ``{tag}``): CrossSlotError otherwise.
    """
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
        raise ValueError(f"cost must be an int >= 0, got {cost!r}")
    if not specs:
        raise ValueError("check_limits needs at least one LimitSpec")
    args: list[Any] = [cost]
    keys = [spec.storage_key(database) for spec in specs]
    for spec, key in zip(specs, keys, strict=True):
        if cost > spec.limit:
            raise ValueError(f"cost {cost} can never fit in limit {spec.limit} of {key!r}")
        args.extend((spec.limit, repr(spec.per)))
    check_same_slot(database, keys, "rate limits checked together")
    raw = database.run_script("rate_limit", keys=keys, args=args, client=client)
    results = []
    for index, spec in enumerate(specs):
        allowed, remaining, reset_ms, retry_ms = (int(v) for v in raw[4 * index : 4 * index + 4])
        results.append(
            RateLimitResult(
                allowed=bool(allowed),
                limit=spec.limit,
                remaining=remaining,
                reset_after=max(reset_ms, 0) / 1000.0,
                retry_after=max(retry_ms, 0) / 1000.0,
            )
        )
    return results


class RateLimit:
    """Allow ``limit`` events per ``per`` seconds for each key; ``debug`` allows everything."""

    def __init__(
        self, database: Database, name: str, limit: int = 5, per: float = 60, debug: bool = False
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"rate limit name must be a non-empty str, got {name!r}")
        self.limit_count, self.per = _check_limit_args(limit, per)
        self.database = database
        self.name = name
        self.debug = debug

    def _spec(self, key: Any) -> LimitSpec:
        if isinstance(key, bytes):
            key = key.decode("utf-8")
        if not isinstance(key, str):
            raise TypeError(f"rate limit key must be str or bytes, got {type(key).__name__}")
        return LimitSpec(self.name, key, self.limit_count, self.per)

    def check(self, key: Any, cost: int = 1) -> RateLimitResult:
        """Record ``cost`` events for ``key`` when they fit and return the decision with the
        remaining count and reset/retry times (1 round trip). ``cost=0`` only looks."""
        spec = self._spec(key)
        if self.debug:
            return RateLimitResult(True, spec.limit, spec.limit, 0.0, 0.0)
        return check_limits(self.database, [spec], cost)[0]

    def limit(self, key: Any) -> bool:
        """Record an event for ``key``; True when it must be refused (1 round trip)."""
        return not self.check(key).allowed

    def remaining(self, key: Any) -> int:
        """Events ``key`` may still make in the current window, recording nothing (1 round trip)."""
        return self.check(key, cost=0).remaining

    def reset(self, key: Any) -> bool:
        """Forget every event of ``key`` (1 round trip). True when there was something to forget."""
        return bool(self.database.delete(self._spec(key).storage_key(self.database)))

    def rate_limited(self, key_function: Callable[..., Any] | None = None) -> Callable[[F], F]:
        """Decorator raising ``RateLimitException`` (with ``retry_after``) once a key is over.

        ``key_function(*args, **kwargs)`` names the caller; by default the key is the function's
        qualified name plus a digest of its bound arguments (keyword order does not matter).
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


# Upstream offers a separate Lua-backed class; here every RateLimit is Lua-backed.
RateLimitLua = RateLimit
