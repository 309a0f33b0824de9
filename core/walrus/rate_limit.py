"""``RateLimit``: a sliding-window limit of ``limit`` events per ``per`` seconds per key.

Key layout is upstream walrus's: ``<name>:<key>`` holds a list of event timestamps, newest
first, at most ``limit`` long. Differences from upstream (docs/compat.md): the decision and
the write are one Lua call on the server's clock, so concurrent clients cannot both take the
last slot and skewed client clocks do not matter; lists expire with the window (upstream
used ``limit * 2`` seconds, which could reset a limit early or keep keys too long).

On Redis Cluster the key part is hash-tagged, ``<name>:{<key>}``, so the stacked limits of
one caller (several names, the same key) are decided by one script in one slot; limits of
one ``check_limits`` call whose keys cannot share a slot raise ``CrossSlotError`` before
anything is sent. ``decide`` (for callers that check the same limits on every request, such as
the Flask extension) takes limits validated once as ``PreparedLimit`` and splits keys of
different slots into one script call per slot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import NoScriptError

from . import events
from .cluster import check_same_slot, has_hash_tag, hash_tag, is_cluster, key_slot
from .exceptions import WalrusError
from .keys import call_key

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = [
    "Decision",
    "LimitSpec",
    "PreparedLimit",
    "RateLimit",
    "RateLimitException",
    "RateLimitLua",
    "RateLimitResult",
    "check_limits",
    "decide",
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
    if isinstance(per, bool) or not isinstance(per, (int, float)) or not 0 < per < float("inf"):
        raise ValueError(f"per must be a positive, finite number of seconds, got {per!r}")
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
    if events.listeners and cost:
        outcome = "allowed" if results[0].allowed else "refused"
        for spec in specs:
            events.emit("rate_limit", spec.name, outcome)
    return results


class PreparedLimit:
    """``limit`` events per ``per`` seconds for keys ``<name>:<client key>``, validated and
    encoded once, for callers that check the same limits again and again (see ``decide``)."""

    __slots__ = ("args", "head", "limit", "name", "per")

    def __init__(self, name: str, limit: int, per: float) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"limit name must be a non-empty str, got {name!r}")
        self.limit, self.per = _check_limit_args(limit, per)
        self.name = name
        self.head = name + ":"
        # ARGV of rate_limit.lua for this limit, encoded once (repr keeps every digit of per)
        self.args = (str(self.limit), repr(self.per))

    def __repr__(self) -> str:
        return f"PreparedLimit({self.name!r}, {self.limit}, {self.per!r})"

    def storage_key(self, key: str, cluster: bool = False) -> str:
        """Same key as ``LimitSpec(name, key, ...).storage_key`` except that on a cluster a
        client key that cannot be hash-tagged (empty, or starting with ``}``) is kept as is
        instead of raising: ``decide`` groups keys by slot, so it needs no common tag."""
        if not cluster or has_hash_tag(key):
            return self.head + key
        if not key or key[0] == "}":
            return self.head + key
        return self.head + "{" + key + "}"


class Decision:
    """What ``decide`` answered: ``allowed`` (the joint decision) and per limit its numbers.

    ``raw`` holds four ints per limit, in order: allowed 0/1 (of the limit's own slot group),
    remaining events, reset and retry-after in milliseconds. ``result(i)`` and ``results``
    build ``RateLimitResult`` objects only when asked, so an allowed request that reports one
    limit pays for one."""

    __slots__ = ("allowed", "limits", "raw")

    def __init__(self, allowed: bool, limits: Sequence[PreparedLimit], raw: list[Any]) -> None:
        self.allowed = allowed
        self.limits = limits
        self.raw = raw

    def result(self, index: int) -> RateLimitResult:
        """The ``RateLimitResult`` of ``limits[index]`` (its ``allowed`` is the joint one)."""
        base = 4 * index
        raw = self.raw
        return RateLimitResult(
            allowed=self.allowed,
            limit=self.limits[index].limit,
            remaining=int(raw[base + 1]),
            reset_after=max(int(raw[base + 2]), 0) / 1000.0,
            retry_after=max(int(raw[base + 3]), 0) / 1000.0,
        )

    @property
    def results(self) -> list[RateLimitResult]:
        return [self.result(i) for i in range(len(self.limits))]

    def report_index(self) -> int:
        """The limit a client should be told about: when allowed, the one with the fewest
        remaining events (the later reset on a tie); when refused, the longest wait."""
        count = len(self.limits)
        if count == 1:
            return 0
        raw = self.raw
        if self.allowed:
            return min(range(count), key=lambda i: (int(raw[4 * i + 1]), -int(raw[4 * i + 2])))
        return max(range(count), key=lambda i: int(raw[4 * i + 3]))


def decide(
    database: Database, limits: Sequence[PreparedLimit], keys: Sequence[str], cost: int = 1
) -> Decision:
    """Check and record ``cost`` events against ``limits[i]`` for client key ``keys[i]``.

    Single server (and ``memory://``): one Lua call (1 round trip), all-or-nothing, like
    ``check_limits``; the script's arguments are the ones prepared in each ``PreparedLimit``
    and it runs by SHA (EVALSHA, sending the source again only after NOSCRIPT).

    Redis Cluster: keys of different hash slots (different client keys) cannot meet in one
    script, so each slot group is decided by its own call (1 round trip per group). Within a
    group the decision is all-or-nothing; across groups it is not atomic: a request refused by
    one group takes back the events the groups before it recorded (one more round trip,
    ``LREM`` of the exact timestamps recorded), and a concurrent request may see those events
    in between. Never raises ``CrossSlotError``.

    ``cost`` must be an int >= 0 that fits in every limit (ValueError otherwise, before
    anything is sent); ``keys`` must be str.
    """
    if len(limits) != len(keys) or not limits:
        raise ValueError(f"decide needs one key per limit and at least one limit, got {len(limits)} limits and {len(keys)} keys")
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
        raise ValueError(f"cost must be an int >= 0, got {cost!r}")
    for limit in limits:
        if cost > limit.limit:
            raise ValueError(f"cost {cost} can never fit in limit {limit.limit} of {limit.name!r}")
    if is_cluster(database):
        decision = _decide_by_slot(database, limits, keys, cost)
        if events.listeners and cost:
            _emit_decision(decision)
        return decision
    args: list[Any] = [cost]
    storage_keys = []
    for limit, key in zip(limits, keys, strict=True):
        storage_keys.append(limit.head + key)
        args += limit.args
    raw = _evalsha(database, storage_keys, args)
    decision = Decision(raw[0] == 1, limits, raw)
    if events.listeners and cost:
        _emit_decision(decision)
    return decision


def _emit_decision(decision: Decision) -> None:
    outcome = "allowed" if decision.allowed else "refused"
    for limit in decision.limits:
        events.emit("rate_limit", limit.name, outcome)


def _evalsha(database: Database, keys: list[str], args: list[Any]) -> Any:
    """rate_limit.lua by SHA through redis-py's plain command path (1 round trip; 2 when the
    server lost the script). Skips run_script's bookkeeping, which costs more than the
    fallback: the SHA is already cached on the server after the first call. With request ids
    on (docs/reliability.md), or while anyone listens to ``walrus.events`` (the script's
    latency is reported there), it goes through run_script."""
    if events.listeners or getattr(database, "request_ids", False):
        return database.run_script("rate_limit", keys=keys, args=args)
    script = database.get_script("rate_limit")
    try:
        return database.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return database.execute_command("EVAL", script.script, len(keys), *keys, *args)


def _decide_by_slot(
    database: Database, limits: Sequence[PreparedLimit], keys: Sequence[str], cost: int
) -> Decision:
    storage_keys = [limit.storage_key(key, cluster=True) for limit, key in zip(limits, keys, strict=True)]
    groups: dict[int, list[int]] = {}
    for index, key in enumerate(storage_keys):
        groups.setdefault(key_slot(key), []).append(index)
    raw: list[Any] = [0] * (4 * len(limits))
    recorded: list[tuple[list[str], Any]] = []  # (keys, stamp) of groups that wrote events
    allowed = True
    for members in groups.values():
        group_keys = [storage_keys[i] for i in members]
        args: list[Any] = [cost]
        for i in members:
            args += limits[i].args
        if not allowed:
            args.append("1")  # dry run: the request is refused already, record nothing
        reply = database.run_script("rate_limit", keys=group_keys, args=args)
        if int(reply[0]) != 1:
            allowed = False
        elif allowed and cost > 0:
            recorded.append((group_keys, reply[4 * len(members)]))
        for position, i in enumerate(members):
            raw[4 * i : 4 * i + 4] = reply[4 * position : 4 * position + 4]
    if not allowed and recorded:
        # Take back what the allowed groups recorded: equal stamps are interchangeable, so
        # removing `cost` items equal to this call's stamp restores the lists exactly.
        with database.pipeline(transaction=False) as pipe:
            for group_keys, stamp in recorded:
                for key in group_keys:
                    pipe.lrem(key, cost, stamp)
            pipe.execute()
        taken_back = {key for group_keys, _ in recorded for key in group_keys}
        for i, key in enumerate(storage_keys):
            if key in taken_back:
                raw[4 * i + 1] = min(int(raw[4 * i + 1]) + cost, limits[i].limit)
    return Decision(allowed, limits, raw)


def _check_utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: Redis could not be sent it
        raise ValueError(f"{what} {text[:50]!r} cannot be encoded as UTF-8 ({exc.reason})") from None


class RateLimit:
    """Allow ``limit`` events per ``per`` seconds for each key; ``debug`` allows everything."""

    def __init__(
        self, database: Database, name: str, limit: int = 5, per: float = 60, debug: bool = False
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"rate limit name must be a non-empty str, got {name!r}")
        if not name.isascii():
            _check_utf8(name, "rate limit name")
        self.limit_count, self.per = _check_limit_args(limit, per)
        self.database = database
        self.name = name
        self.debug = debug

    def _spec(self, key: Any) -> LimitSpec:
        if isinstance(key, bytes):
            try:
                key = key.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"rate limit key must be UTF-8 when given as bytes, got {key[:50]!r}") from None
        if not isinstance(key, str):
            raise TypeError(f"rate limit key must be str or bytes, got {type(key).__name__}")
        if not key.isascii():
            _check_utf8(key, "rate limit key")
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
