"""Sending decisions to Redis: ``decide`` and ``check_rates`` (the only I/O of the limiter).

Every check is one ``rate_limit.lua`` call through ``Database.run_script`` (EVALSHA, one
round trip), except on Redis Cluster when the rates of one request fall in several hash
slots (different client keys): then one call per slot (see ``decide``).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, cast

from redis.exceptions import RedisError

from .. import events
from ..cluster import check_same_slot, is_cluster, key_slot
from ..steps import Steps, drive
from .clients import OutageLog
from .decision import (
    _COSTS,
    LOOK_SCRIPT,
    SCRIPT,
    Decision,
    PreparedRate,
    RateLimitResult,
    RateSpec,
    call_args,
    check_call,
    script_args,
)
from .rates import check_cost

if TYPE_CHECKING:  # pragma: no cover
    from ..database import Database

__all__ = [
    "check_rates",
    "decide",
    "decision_steps",
    "outage_decision",
    "plan_decision",
    "reset_rates",
    "settled",
    "storage_keys",
]

_outage_log = OutageLog()


def decide(
    database: Database,
    rates: Sequence[PreparedRate],
    keys: Sequence[str],
    cost: int = 1,
    *,
    dry_run: bool = False,
    on_error: str | None = None,
    outage_log: OutageLog | None = None,
) -> Decision:
    """Check and record ``cost`` events against ``rates[i]`` for client key ``keys[i]``.

    One Lua call (1 round trip) on one server or ``memory://``: all-or-nothing (a refused
    request spends no budget of any rate), on the server's clock, each rate with its own
    strategy. ``cost=0`` or ``dry_run=True`` only looks.

    Redis Cluster: keys of different hash slots cannot meet in one script, so each slot group
    is decided by its own call (1 round trip per group); a request refused by a later group
    takes back what earlier groups recorded (one more round trip), so the decision is
    all-or-nothing in effect but not atomic across groups. Never raises ``CrossSlotError``.

    ``on_error`` ("allow" or "deny", default None = raise) is the outage policy: on a
    ``RedisError`` the decision is taken without Redis (``Decision.allowance`` or
    ``Decision.refusal``) with the error in ``decision.error``, and the outage is logged once
    (to ``outage_log``, default the ``walrus.rate_limit`` logger).

    ValueError/TypeError, before anything is sent: ``cost`` not an int >= 0 or above a rate's
    limit, keys not one str per rate.
    """
    steps = decision_steps(
        rates, keys, cost, dry_run, on_error, outage_log, cluster=is_cluster(database)
    )
    return cast(Decision, drive(steps, lambda step: database.run_script(*step), (RedisError,)))


def decision_steps(
    rates: Sequence[PreparedRate],
    keys: Sequence[str],
    cost: int,
    dry_run: bool,
    on_error: str | None,
    outage_log: OutageLog | None,
    cluster: bool = False,
) -> Steps:
    """One decision as steps (``walrus.steps``): checks the arguments, yields the script calls
    (name, KEYS, ARGV: one on a single server; one per slot group on a cluster, plus the
    take-back of a refused request) and reads the replies into a ``Decision``, applying the
    outage policy to a ``RedisError``. ``decide`` and ``walrus.asyncio.adecide`` drive it.
    No Redis work."""
    check_call(rates, keys, cost, on_error)
    try:
        if cluster:
            decision = yield from _by_slot_steps(rates, keys, cost, dry_run)
        else:
            reply = yield plan_decision(rates, keys, cost, dry_run)
            decision = Decision(reply[0] == 1, rates, reply)
    except RedisError as exc:
        return outage_decision(exc, rates, on_error, outage_log)
    return settled(decision, rates, cost, dry_run, on_error, outage_log)


def plan_decision(
    rates: Sequence[PreparedRate], keys: Sequence[str], cost: int, dry_run: bool
) -> tuple[str, list[str], list[Any]]:
    """(script name, KEYS, ARGV) of one decision on one server, for the sync and asyncio
    clients alike (``check_call`` has accepted the arguments). No Redis work."""
    if len(rates) == 1:  # the usual case, spelled out (call_args builds the same)
        storage_keys = [rates[0].head + keys[0]]
        args = [
            _COSTS[cost] if cost < 16 else cost,
            b"d" if dry_run else b"r",
            b"",
            *rates[0].args,
        ]
    else:
        storage_keys, args = call_args(rates, keys, cost, dry_run)
    # a look writes nothing: its read-only variant runs on a full server or a replica
    return (SCRIPT if cost and not dry_run else LOOK_SCRIPT), storage_keys, args


def outage_decision(
    exc: RedisError,
    rates: Sequence[PreparedRate],
    on_error: str | None,
    outage_log: OutageLog | None,
) -> Decision:
    """The decision taken without Redis under the outage policy (``exc`` raised again when
    there is none), the outage logged once. No Redis work."""
    if on_error is None:
        try:
            raise exc
        finally:
            del exc  # else frame<->traceback cycle: client kept until GC
    (outage_log or _outage_log).failed(exc, "a rate limit check", on_error)
    if on_error == "allow":
        return Decision.allowance(rates, exc)
    return Decision.refusal(rates, None, exc)


def settled(
    decision: Decision,
    rates: Sequence[PreparedRate],
    cost: int,
    dry_run: bool,
    on_error: str | None,
    outage_log: OutageLog | None,
) -> Decision:
    """``decision`` after Redis answered: a recovery logged, the outcome reported to
    ``walrus.events``. No Redis work."""
    if on_error is not None:
        log = outage_log or _outage_log
        if log.down:
            log.recovered()
    if events.listeners and cost and not dry_run:
        outcome = "allowed" if decision.allowed else "refused"
        for rate in rates:
            events.emit("rate_limit", rate.name, outcome)
    return decision


def check_rates(
    database: Database, specs: Sequence[RateSpec], cost: int = 1, client: Any = None
) -> list[RateLimitResult]:
    """Check and record ``cost`` events against every ``RateSpec``: one Lua call.

    All-or-nothing like ``decide``; returns one result per spec, in order (``allowed`` is the
    joint decision). ``client`` may be a pipeline (the call is queued there). On Redis Cluster
    the specs' keys must share a slot (same key, or a common ``{tag}``): CrossSlotError
    otherwise, before anything is sent.
    1 round trip.
    """
    if not specs:
        raise ValueError("check_rates needs at least one RateSpec")
    check_cost(cost)
    keys = [spec.storage_key(database) for spec in specs]
    rates = [spec.prepared for spec in specs]
    for rate, key in zip(rates, keys, strict=True):
        if cost > rate.limit:
            raise ValueError(f"cost {cost} can never fit in limit {rate.limit} of {key!r}")
    check_same_slot(database, keys, "rate limits checked together")
    raw = database.run_script(SCRIPT, keys=keys, args=script_args(rates, cost), client=client)
    decision = Decision.from_reply(rates, raw)
    if events.listeners and cost:
        outcome = "allowed" if decision.allowed else "refused"
        for spec in specs:
            events.emit("rate_limit", spec.name, outcome)
    return decision.results


def reset_rates(database: Database, rates: Sequence[PreparedRate], keys: Sequence[str]) -> int:
    """Forget the state of ``rates[i]`` for client ``keys[i]`` (one UNLINK per slot group;
    1 round trip on one server). Returns how many keys there were."""
    keys = storage_keys(database, rates, keys)
    if not is_cluster(database):
        return int(database.unlink(*keys))
    return sum(int(database.unlink(key)) for key in keys)


def storage_keys(database: Any, rates: Sequence[PreparedRate], keys: Sequence[str]) -> list[str]:
    """The Redis keys holding ``rates[i]``'s state for client ``keys[i]`` (hash-tagged on a
    cluster). No Redis work."""
    cluster = is_cluster(database)
    return [rate.storage_key(key, cluster) for rate, key in zip(rates, keys, strict=True)]


def _by_slot_steps(
    rates: Sequence[PreparedRate], keys: Sequence[str], cost: int, dry_run: bool
) -> Generator[tuple[str, list[str], list[Any]], Any, Decision]:
    # A cluster's decision: one script call per slot group (the script cannot span slots).
    storage_keys = [
        rate.storage_key(key, cluster=True) for rate, key in zip(rates, keys, strict=True)
    ]
    groups: dict[int, list[int]] = {}
    for index, key in enumerate(storage_keys):
        groups.setdefault(key_slot(key), []).append(index)
    raw: list[Any] = [0] * (4 * len(rates))
    recorded: list[tuple[list[int], Any]] = []  # (members, stamp) of groups that recorded events
    allowed = True
    for members in groups.values():
        group = [rates[i] for i in members]
        # once refused, later groups only look: the request will not be recorded anywhere
        mode = "d" if dry_run or not allowed else "r"
        reply = yield SCRIPT, [storage_keys[i] for i in members], script_args(group, cost, mode)
        if int(reply[0]) != 1:
            allowed = False
        elif mode == "r" and cost > 0:
            recorded.append((members, reply[4 * len(members)]))
        for position, i in enumerate(members):
            raw[4 * i : 4 * i + 4] = reply[4 * position : 4 * position + 4]
    if not allowed and recorded:
        for members, stamp in recorded:
            group = [rates[i] for i in members]
            stamp = stamp.decode() if isinstance(stamp, bytes) else str(stamp)
            yield SCRIPT, [storage_keys[i] for i in members], script_args(group, cost, "u", stamp)
            for i in members:
                raw[4 * i + 1] = min(int(raw[4 * i + 1]) + cost, rates[i].limit)
    for i in range(len(rates)):
        raw[4 * i] = 1 if allowed else 0
    return Decision(allowed, rates, raw)


# old names, kept importable for one release (not in __all__)
check_limits = check_rates  # old name, kept importable
reset_limits = reset_rates  # old name, kept importable
