"""walrus on asyncio: ``AsyncDatabase`` (a ``redis.asyncio.Redis`` that runs walrus's
scripts), ``AsyncClusterDatabase`` (the same on a Redis Cluster) and the helpers built on them,
sharing keys, validation, scripts and reply parsing with the sync core (docs/asyncio.md)."""

from __future__ import annotations

from .atomic import AsyncAtomic
from .cache import AsyncCache
from .cluster import AsyncClusterDatabase
from .database import AsyncDatabase
from .lock import AsyncLock, AsyncLockRenewer
from .loops import PerLoop
from .models import AsyncModel, AsyncModelQuery, AsyncRelatedSet, PendingRelation
from .rate_limit import adecide

__all__ = [
    "AsyncAtomic",
    "AsyncCache",
    "AsyncClusterDatabase",
    "AsyncDatabase",
    "AsyncLock",
    "AsyncLockRenewer",
    "AsyncModel",
    "AsyncModelQuery",
    "AsyncRelatedSet",
    "PendingRelation",
    "PerLoop",
    "adecide",
]
