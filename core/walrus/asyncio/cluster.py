"""``AsyncClusterDatabase``: walrus on a Redis Cluster through ``redis.asyncio``."""

from __future__ import annotations

from typing import Any

__all__ = ["AsyncClusterDatabase"]


class AsyncClusterDatabase:
    """Placeholder while the async cluster client is written."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AsyncClusterDatabase:
        """Refused for now (ValueError). No Redis work."""
        raise ValueError(
            "walrus.asyncio does not talk to a Redis Cluster yet: use the sync "
            "walrus.Database for redis+cluster:// URLs"
        )
