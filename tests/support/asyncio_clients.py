"""Both kinds of client on one URL, for the asyncio suite's comparisons of sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from walrus import Database
from walrus.asyncio import AsyncDatabase

__all__ = ["run_with_clients"]


def run_with_clients(
    async_url: str, body: Callable[[AsyncDatabase, Database], Awaitable[Any]]
) -> Any:
    """Run ``body(async_db, sync_db)`` (two clients of ``async_url``) in a fresh event loop
    and return its result; both clients are closed after, whatever happens."""

    async def main() -> Any:
        db = AsyncDatabase.from_url(async_url)
        sync = Database.from_url(async_url)
        try:
            return await body(db, sync)
        finally:
            await db.aclose()
            sync.close()

    return asyncio.run(main())
