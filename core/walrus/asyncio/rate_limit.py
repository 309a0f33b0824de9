"""Rate-limit decisions on asyncio: ``adecide``, the async twin of
``walrus.rate_limit.decide`` (the same plan, Lua script, reply reading, outage policy and
events; only the sending differs)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import RedisError

from ..cluster import is_cluster
from ..rate_limit.clients import OutageLog
from ..rate_limit.decision import Decision, PreparedRate
from ..rate_limit.execute import decision_steps
from ..steps import adrive
from .cluster import AsyncClusterDatabase
from .database import AsyncDatabase

__all__ = ["adecide"]


async def adecide(
    database: AsyncDatabase | AsyncClusterDatabase,
    rates: Sequence[PreparedRate],
    keys: Sequence[str],
    cost: int = 1,
    *,
    dry_run: bool = False,
    on_error: str | None = None,
    outage_log: OutageLog | None = None,
) -> Decision:
    """Check and record ``cost`` events against ``rates[i]`` for client key ``keys[i]``, as
    ``decide`` does: one Lua call (1 round trip; one per slot group on a cluster),
    all-or-nothing, on the server's clock.
    ``cost=0`` or ``dry_run=True`` only looks; ``on_error`` is the outage policy. Bad
    arguments raise ValueError/TypeError before anything is sent."""
    steps = decision_steps(
        rates, keys, cost, dry_run, on_error, outage_log, cluster=is_cluster(database)
    )
    decision: Decision = await adrive(steps, lambda step: database.run_script(*step), (RedisError,))
    return decision
