"""Rate-limit decisions on asyncio: ``adecide``, the async twin of
``walrus.rate_limit.decide`` (the same plan, Lua script, reply reading, outage policy and
events; only the sending differs)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import RedisError

from ..rate_limit.clients import OutageLog
from ..rate_limit.decision import Decision, PreparedRate, check_call
from ..rate_limit.execute import outage_decision, plan_decision, settled
from .database import AsyncDatabase

__all__ = ["adecide"]


async def adecide(
    database: AsyncDatabase,
    rates: Sequence[PreparedRate],
    keys: Sequence[str],
    cost: int = 1,
    *,
    dry_run: bool = False,
    on_error: str | None = None,
    outage_log: OutageLog | None = None,
) -> Decision:
    """Check and record ``cost`` events against ``rates[i]`` for client key ``keys[i]``, as
    ``decide`` does: one Lua call (1 round trip), all-or-nothing, on the server's clock.
    ``cost=0`` or ``dry_run=True`` only looks; ``on_error`` is the outage policy. Bad
    arguments raise ValueError/TypeError before anything is sent."""
    check_call(rates, keys, cost, on_error)
    try:
        script, storage_keys, args = plan_decision(rates, keys, cost, dry_run)
        reply = await database.run_script(script, storage_keys, args)
        decision = Decision(reply[0] == 1, rates, reply)
    except RedisError as exc:
        return outage_decision(exc, rates, on_error, outage_log)
    return settled(decision, rates, cost, dry_run, on_error, outage_log)
