"""Rates ready to send and the decisions read back: the script's argument and reply layout
lives here and nowhere else. No I/O (a sync and an async executor share it).

Terms: a *limit* is a count (events per window), ``per`` the window in seconds, a *rate* is
``limit`` per ``per`` (``Rate``), a *prepared rate* (``PreparedRate``) a rate bound to a key
prefix and a strategy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cluster import has_hash_tag, hash_tag, is_cluster
from .rates import DEFAULT_STRATEGY, STRATEGY_CODES, Rate, check_cost, check_rate, check_strategy

__all__ = [
    "LOOK_SCRIPT",
    "SCRIPT",
    "Decision",
    "PreparedRate",
    "RateLimitResult",
    "RateSpec",
    "call_args",
    "check_call",
    "check_name",
    "script_args",
]

SCRIPT = "rate_limit"
"""The script every strategy runs (core/walrus/scripts/rate_limit.lua)."""
LOOK_SCRIPT = SCRIPT + "@ro"
"""Its read-only variant (``#!lua flags=no-writes``), for looks (cost 0, dry runs): a full
server or a replica answers it."""
_FIELDS = 4  # reply items per rate: allowed, remaining, reset ms, retry ms
_COSTS = tuple(str(n).encode() for n in range(16))  # the usual costs, encoded once
_MODES = {"r": b"r", "d": b"d", "u": b"u"}


def check_name(name: Any, what: str = "rate limit name") -> str:
    """A non-empty str that Redis can be sent (UTF-8 encodable): ValueError/TypeError otherwise. No
    Redis work."""
    if not isinstance(name, str):
        raise ValueError(f"{what} must be a non-empty str, got {name!r}")
    if not name:
        raise ValueError(f"{what} must be a non-empty str, got ''")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate
            raise ValueError(
                f"{what} {name[:50]!r} cannot be encoded as UTF-8 ({exc.reason})"
            ) from None
    return name


class PreparedRate:
    """A rate bound to a key prefix and a strategy: ``limit`` events per ``per`` seconds under
    ``strategy``, for keys ``<name>:<client key>`` (``<name>#<strategy>:<client key>`` for the
    strategies other than moving-window, whose layout is upstream walrus's). Validated and
    encoded once when built: TypeError/ValueError for a bad name, rate or strategy; ``cost``
    (when given) is checked against the limit. Building it does no Redis work.
    """

    __slots__ = ("args", "head", "limit", "name", "per", "rate", "strategy")

    def __init__(
        self,
        name: str,
        limit: int,
        per: float,
        strategy: str = DEFAULT_STRATEGY,
        cost: int | None = None,
    ) -> None:
        check_name(name)
        self.rate: Rate = check_rate(limit, per, f"rate limit {name[:80]!r}")
        self.limit, self.per = self.rate
        self.strategy = check_strategy(strategy)
        if cost is not None:
            check_cost(cost, self.limit, f"rate limit {name[:80]!r}")
        self.name = name
        code = STRATEGY_CODES[strategy]
        self.head = name + ":" if code == "m" else f"{name}#{code}:"
        # this rate's ARGV of rate_limit.lua, encoded once, as bytes: redis-py sends bytes as
        # they are instead of encoding each argument on every call (repr keeps every digit)
        self.args = (code.encode(), str(self.limit).encode(), repr(self.per).encode())

    def __repr__(self) -> str:
        return (
            f"PreparedRate({self.name!r}, {self.limit}, {self.per!r}, strategy={self.strategy!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PreparedRate):
            return NotImplemented
        return (self.name, self.rate, self.strategy) == (other.name, other.rate, other.strategy)

    def __hash__(self) -> int:
        return hash((self.name, self.rate, self.strategy))

    def storage_key(self, key: str, cluster: bool = False) -> str:
        """The Redis key of client ``key``. On a cluster the client key is hash-tagged
        (``<head>{<key>}``) so one client's rates share a slot; a key that already holds a
        ``{tag}``, or cannot be tagged (empty, starting with ``}``), is kept as is.
        No Redis work."""
        if not cluster or has_hash_tag(key) or not key or key[0] == "}":
            return self.head + key
        return self.head + "{" + key + "}"


@dataclass(frozen=True)
class RateSpec:
    """One rate on one client key (the ``check_rates`` form): ``limit`` events per ``per``
    seconds under ``strategy``, stored at ``<name>:<key>`` (see ``PreparedRate``). Building it
    does no Redis work."""

    name: str
    key: str
    limit: int
    per: float
    strategy: str = DEFAULT_STRATEGY
    prepared: PreparedRate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str):
            raise TypeError(f"rate limit key must be a str, got {type(self.key).__name__}")
        object.__setattr__(
            self, "prepared", PreparedRate(self.name, self.limit, self.per, self.strategy)
        )

    @property
    def redis_key(self) -> str:
        """The single-server key (see ``storage_key`` for any server)."""
        return self.prepared.head + self.key

    def storage_key(self, database: Any) -> str:
        """The key on ``database`` (hash-tagged on Redis Cluster; ValueError for an empty key
        there, which cannot be tagged). No Redis work."""
        if not is_cluster(database):
            return self.redis_key
        if not self.key:
            raise ValueError(
                f"rate limit {self.name!r}: an empty key cannot be hash-tagged on Redis Cluster"
            )
        if has_hash_tag(self.key):
            return self.redis_key
        tagged: str = hash_tag(self.key)  # hash_tag keeps its argument's type
        return self.prepared.head + tagged


@dataclass(frozen=True)
class RateLimitResult:
    """The decision for one rate: times in seconds (float) from the server's clock.

    ``reset_after``: until the whole budget is back; ``retry_after``: until the refused
    cost would fit (0 when allowed)."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float


def script_args(
    rates: Sequence[PreparedRate], cost: int, mode: str = "r", stamp: str = ""
) -> list[Any]:
    """ARGV of rate_limit.lua: cost, mode ("r" record, "d" dry run, "u" undo ``stamp``), then
    each rate's strategy code, limit and window. No Redis work."""
    args: list[Any] = [
        _COSTS[cost] if cost < len(_COSTS) else cost,
        _MODES.get(mode, mode),
        stamp or b"",
    ]
    for rate in rates:
        args += rate.args
    return args


def check_call(
    rates: Sequence[PreparedRate], keys: Sequence[str], cost: int, on_error: str | None = None
) -> None:
    """Validate the arguments of one decision (what ``decide`` checks before sending anything):
    one str client key per rate, at least one rate, ``cost`` an int >= 0 that fits in every
    rate's limit, ``on_error`` None, "allow" or "deny". ValueError/TypeError naming what is
    wrong. Plain type tests first: this runs on every limited request. No Redis work."""
    count = len(rates)
    if count != len(keys) or not count:
        raise ValueError(
            "decide needs one key per rate and at least one rate, "
            f"got {count} rates and {len(keys)} keys"
        )
    if cost.__class__ is not int or cost < 0:
        check_cost(cost)
    for rate, key in zip(rates, keys):  # noqa: B905 - lengths compared above
        if cost > rate.limit:
            raise ValueError(f"cost {cost} can never fit in limit {rate.limit} of {rate.name!r}")
        if key.__class__ is not str and not isinstance(key, str):
            raise TypeError(
                f"rate limit client key must be a str, got {type(key).__name__} for {rate.name!r}"
            )
    if on_error is not None and on_error not in ("allow", "deny"):
        raise ValueError(f"on_error must be one of allow, deny, got {on_error!r}")


def call_args(
    rates: Sequence[PreparedRate],
    keys: Sequence[str],
    cost: int,
    dry_run: bool = False,
    cluster: bool = False,
) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of the rate_limit.lua call deciding ``rates[i]`` for client ``keys[i]``
    (checked by ``check_call``): one server, or one slot group on a cluster (``cluster=True``
    hash-tags the client keys). Its reply reads back with ``Decision.from_reply``. No Redis work."""
    storage_keys = [rate.storage_key(key, cluster) for rate, key in zip(rates, keys)]  # noqa: B905
    return storage_keys, script_args(rates, cost, "d" if dry_run else "r")


class Decision:
    """What one check answered, for every rate checked together (``rates``).

    ``allowed`` is the joint decision. ``limit``, ``remaining``, ``reset_after`` and
    ``retry_after`` (seconds) are those of the rate a client should be told about
    (``report_index``); ``result(i)`` / ``results`` give every rate's own. ``error`` is the
    Redis error when the decision was taken by the outage policy instead of Redis. Reading it
    does no Redis work.
    """

    __slots__ = ("allowed", "error", "rates", "raw")

    def __init__(
        self,
        allowed: bool,
        rates: Sequence[PreparedRate],
        raw: list[Any],
        error: Exception | None = None,
    ) -> None:
        self.allowed = allowed
        self.rates = rates
        self.raw = raw  # the script's reply layout: 4 ints per rate
        self.error = error

    def __repr__(self) -> str:
        return (
            f"Decision(allowed={self.allowed}, remaining={self.remaining}, "
            f"reset_after={self.reset_after}, retry_after={self.retry_after})"
        )

    @property
    def limits(self) -> Sequence[PreparedRate]:
        """Old name of ``rates``, kept readable for one release."""
        return self.rates

    @classmethod
    def from_reply(cls, rates: Sequence[PreparedRate], reply: list[Any]) -> Decision:
        """The decision in a rate_limit.lua reply (one slot group). No Redis work."""
        return cls(int(reply[0]) == 1, rates, reply)

    @classmethod
    def refusal(
        cls,
        rates: Sequence[PreparedRate],
        index: int | None = None,
        error: Exception | None = None,
    ) -> Decision:
        """A refusal taken without Redis (a cost no rate can hold; Redis down under the "deny"
        policy), reported on ``rates[index]`` (default: the shortest window): nothing
        remaining, retry after its whole window. No Redis work."""
        if index is None:
            index = min(range(len(rates)), key=lambda i: rates[i].per)
        raw: list[Any] = [0, 0, 0, 0] * len(rates)
        window_ms = math.ceil(rates[index].per * 1000)
        raw[_FIELDS * index + 2] = raw[_FIELDS * index + 3] = window_ms
        return cls(False, rates, raw, error)

    @classmethod
    def allowance(cls, rates: Sequence[PreparedRate], error: Exception | None = None) -> Decision:
        """An allowance taken without Redis (Redis down under the "allow" policy): every rate
        reports its whole budget. No Redis work."""
        raw: list[Any] = []
        for rate in rates:
            raw += [1, rate.limit, 0, 0]
        return cls(True, rates, raw, error)

    def result(self, index: int) -> RateLimitResult:
        """The ``RateLimitResult`` of ``rates[index]`` (its ``allowed`` is the joint one). No
        Redis work."""
        base = _FIELDS * index
        raw = self.raw
        return RateLimitResult(
            allowed=self.allowed,
            limit=self.rates[index].limit,
            remaining=max(int(raw[base + 1]), 0),
            reset_after=max(int(raw[base + 2]), 0) / 1000.0,
            retry_after=max(int(raw[base + 3]), 0) / 1000.0 if not self.allowed else 0.0,
        )

    @property
    def results(self) -> list[RateLimitResult]:
        return [self.result(i) for i in range(len(self.rates))]

    def report_index(self) -> int:
        """The rate a client should be told about: when allowed, the one with the fewest
        remaining events (the later reset on a tie); when refused, the longest wait.
        No Redis work."""
        count = len(self.rates)
        if count == 1:
            return 0
        raw = self.raw
        if self.allowed:
            return min(range(count), key=lambda i: (int(raw[4 * i + 1]), -int(raw[4 * i + 2])))
        return max(range(count), key=lambda i: int(raw[4 * i + 3]))

    @property
    def limit(self) -> int:
        """The reported rate's limit (events per window)."""
        return self.rates[self.report_index()].limit

    @property
    def remaining(self) -> int:
        """Events the client may still make under the reported rate."""
        return max(int(self.raw[_FIELDS * self.report_index() + 1]), 0)

    @property
    def reset_after(self) -> float:
        """Seconds until the reported rate's budget is whole again."""
        return max(int(self.raw[_FIELDS * self.report_index() + 2]), 0) / 1000.0

    @property
    def retry_after(self) -> float:
        """Seconds until the refused request would fit (0.0 when allowed)."""
        if self.allowed:
            return 0.0
        return max(int(self.raw[_FIELDS * self.report_index() + 3]), 0) / 1000.0

    # the names the issue and the front ends use
    reset = reset_after


# old names, kept importable for one release (not in __all__)
PreparedLimit = PreparedRate  # old name, kept importable
LimitSpec = RateSpec  # old name, kept importable
