"""The walrus calls a client itself offers beyond redis-py's (upstream walrus's ``Database``
extras: ``cas``, ``get_key``, ``hash_exists``, ``search``, ...), written once as steps for
the sync clients (``Database``, ``ClusterDatabase``) and the asyncio ones
(``AsyncDatabase``, ``AsyncClusterDatabase``): on an asyncio client each returns an awaitable
of what the sync call returns."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .calls import call, is_async_client
from .containers.running import Returns, command, sync_only

__all__ = ["ClientCalls"]


class ClientCalls:
    """A mixin of a walrus client (placed before the redis-py class). No Redis work of its
    own: each method states its cost."""

    # The command runner's view of a client: it is its own database, and server errors are
    # raised as they come (no container to name in a WRONGTYPE message).
    _explain_error = None

    @property
    def database(self) -> Any:
        """This client (what ``@command`` sends on). No Redis work."""
        return self

    @property
    def _async(self) -> bool:
        return is_async_client(self)

    @command
    def cas(self, key: Any, value: Any, new_value: Any) -> Returns[bool]:
        """Atomically set ``key`` to ``new_value`` if its current value starts with ``value``
        (a prefix match, as upstream documents; the TTL is kept). A missing key is never set.
        1 round trip."""
        return bool((yield call.run_script("cas", keys=[key], args=[value, new_value])))

    def get_temp_key(self) -> str:
        """A random key name ``temp.<uuid4>`` for short-lived data. No Redis work."""
        return f"temp.{uuid.uuid4()}"

    @command
    def hash_exists(self, key: Any) -> Returns[bool]:
        """True when ``key`` exists (EXISTS; upstream's name). 1 round trip."""
        return bool((yield call.exists(key)))

    @command
    def xpending_summary(self, key: Any, group: Any) -> Returns[Any]:
        """XPENDING summary of consumer group ``group`` on stream ``key``. 1 round trip."""
        return (yield call.xpending(key, group))

    def __len__(self) -> int:
        """Number of keys in the selected database (DBSIZE; every primary on a cluster).
        On an asyncio client: ``await db.dbsize()``."""
        sync_only(self, "len()", "await db.dbsize()")
        return int(self.dbsize())  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[bytes]:
        """Iterate over every key of the selected database (SCAN, never KEYS); ``async for``
        on an asyncio client. 1 round trip per SCAN batch."""
        sync_only(self, "iter()", "use async for")
        return self.scan_iter()  # type: ignore[attr-defined,no-any-return]

    def __aiter__(self) -> AsyncIterator[bytes]:
        """``async for key in db`` on an asyncio client (SCAN, 1 round trip per batch)."""
        return self.scan_iter()  # type: ignore[attr-defined,no-any-return]

    def search(self, pattern: str) -> Iterator[bytes]:
        """Keys matching a glob ``pattern`` (SCAN MATCH, in batches; an async iterator on an
        asyncio client). 1 round trip per SCAN batch."""
        return self.scan_iter(match=pattern)  # type: ignore[attr-defined,no-any-return]

    @command
    def get_key(self, key: Any) -> Returns[Any]:
        """A container for ``key`` chosen by its TYPE; a string key returns its value.

        Raises KeyError when the key does not exist.
        1 round trip (TYPE), plus 1 for a string's value.
        """
        key_type = yield call.type(key)
        if isinstance(key_type, bytes):
            key_type = key_type.decode()
        factory = {
            "hash": "Hash",
            "list": "List",
            "set": "Set",
            "zset": "ZSet",
            "stream": "Stream",
        }.get(key_type)
        if factory is not None:
            return getattr(self, factory)(key)
        if key_type == "none":
            raise KeyError(key)
        value = yield call.get(key)
        if value is None:  # gone since TYPE
            raise KeyError(key)
        return value

    def xsetid(self, name: Any, id: Any) -> bool:  # noqa: A002
        """Set the last id of stream ``name`` (XSETID, 1 round trip): ``Stream.set_id``, so
        a missing stream raises StreamNotFoundError and a bad or too small id StreamIdError."""
        return self.Stream(name).set_id(id)  # type: ignore[attr-defined,no-any-return]
