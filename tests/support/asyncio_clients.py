"""Both kinds of client on one URL, for the asyncio suite's comparisons of sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

from walrus import Database
from walrus.asyncio import AsyncDatabase

__all__ = ["run_with_clients"]


def run_with_clients(
    async_url: str, body: Callable[[AsyncDatabase, Database], Awaitable[Any]]
) -> Any:
    """Run ``body(async_db, sync_db)`` (two clients of ``async_url``) in a fresh event loop
    and return its result; both clients are closed after, whatever happens. On a cluster URL
    the async client is an ``AsyncClusterDatabase``, with its slot map read before ``body``."""

    async def main() -> Any:
        db = AsyncDatabase.from_url(async_url)
        sync = Database.from_url(async_url)
        try:
            if db.is_cluster:
                # The async cluster client reads the slot map on first use; the sync one did
                # when it was built. Read it now, so round-trip counts compare commands.
                await cast(Any, db).initialize()
            return await body(db, sync)
        finally:
            await db.aclose()
            sync.close()

    return asyncio.run(main())
