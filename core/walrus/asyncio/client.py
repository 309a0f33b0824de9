"""What every walrus asyncio client adds to its redis.asyncio class: the cache, the lock and
``run_script`` (a mixin of ``AsyncDatabase`` and ``AsyncClusterDatabase``)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, cast

from redis.exceptions import NoScriptError

from ..client_calls import ClientCalls

if TYPE_CHECKING:  # pragma: no cover
    from ..script_host import ScriptCall
    from .atomic import AsyncAtomic
    from .cache import AsyncCache
    from .lock import AsyncLock

__all__ = ["AsyncClientExtras", "connection_options"]


def connection_options(client: Any) -> dict[str, Any]:
    """The keyword arguments the connections of an asyncio client (a walrus one, or a plain
    ``redis.asyncio.Redis``) are made with. No Redis work."""
    options = getattr(client, "connection_options", None)
    if options is not None:
        return dict(options)
    return dict(client.connection_pool.connection_kwargs)


class AsyncClientExtras(ClientCalls):
    """``cache``, ``lock``, ``atomic`` and ``run_script`` for a ``redis.asyncio`` client that
    is also a ``walrus.script_host.ScriptHost``, plus the ``ClientCalls`` every walrus client
    has (``cas``, ``get_key``, ``hash_exists``, ``search``, ...). No Redis work of its own."""

    if TYPE_CHECKING:  # pragma: no cover - provided by ScriptHost and the redis-py class
        _loaded_scripts: set[Any]

        def _prepare_script(self, script_name: str, keys: Any, args: Any) -> ScriptCall: ...

        def _pipeline_script_options(self, keys: list[Any]) -> dict[str, Any]: ...

        async def execute_command(self, *args: Any, **options: Any) -> Any:
            """The redis-py client's: 1 round trip."""

    @property
    def connection_options(self) -> dict[str, Any]:
        """The keyword arguments every connection is made with (socket_timeout, db, ...)."""
        return dict(cast(Any, self).connection_pool.connection_kwargs)

    def cache(
        self, name: str = "cache", default_timeout: float | None = 3600, **options: Any
    ) -> AsyncCache:
        """An ``AsyncCache`` named ``name`` (``db.cache``'s options and default timeout, in
        seconds). No Redis work."""
        from .cache import AsyncCache

        return AsyncCache(cast(Any, self), name, default_timeout=default_timeout, **options)

    def lock(
        self, name: str | bytes, ttl: int | None = None, lock_id: str | bytes | None = None
    ) -> AsyncLock:
        """walrus's ``AsyncLock`` named ``name`` (``ttl`` in ms; None: no expiry), not
        redis-py's. No Redis work: ``async with`` / ``await acquire()`` take it."""
        from .lock import AsyncLock

        return AsyncLock(self, name, ttl, lock_id)

    def atomic(self) -> AsyncAtomic:
        """``async with db.atomic() as a:`` commands queued on ``a.pipe`` (and model writes
        given ``pipeline=a.pipe``) run in one MULTI/EXEC when the block ends; an error in the
        block discards them. No Redis work until then: 1 round trip."""
        from .atomic import AsyncAtomic

        return AsyncAtomic(self)

    async def execute_read(self, *command: Any) -> Any:
        """Run a read (``command[0]`` one of ``walrus.asyncio.batching.BATCHED_READS``) as
        ``execute_command`` would: 1 round trip. ``AsyncDatabase`` batches it with the reads
        of concurrent tasks. ValueError for a command that is not such a read (nothing
        sent)."""
        from .batching import check_read

        check_read(command)
        return await self.execute_command(*command)

    async def _execute_batched(self, command: tuple[Any, ...]) -> Any:
        """``command`` (a checked read or a script) as ``execute_command``: 1 round trip.
        ``AsyncDatabase`` batches it with the commands of concurrent tasks."""
        return await self.execute_command(*command)

    async def run_script(
        self,
        script_name: str,
        keys: list[Any] | tuple[Any, ...] | None = None,
        args: list[Any] | tuple[Any, ...] | None = None,
        client: Any = None,
    ) -> Any:
        """Run the named Lua script: 1 round trip (the source on this client's first run of
        it where the call goes, or again if the server forgot it; its SHA otherwise), as
        ``Database.run_script``; ``AsyncDatabase`` shares the write with the commands of
        concurrent tasks (``walrus.asyncio.batching``). ``client`` may be a pipeline of this
        client: the script is queued there as EVAL (which cannot fail with NOSCRIPT
        mid-pipeline) and the pipeline is returned; no Redis work until it runs."""
        call = self._prepare_script(script_name, keys, args)
        if client is not None and client is not self:
            options = self._pipeline_script_options(call.keys)
            queued = client.execute_command(*call.eval_command, **options)
            # A pipeline watching keys before multi() runs the command at once (awaitable);
            # a queued command returns the pipeline itself.
            return await queued if queued is not client and inspect.isawaitable(queued) else queued
        if call.loaded:
            try:
                return await self._execute_batched(call.evalsha_command)
            except NoScriptError:
                self._loaded_scripts.discard(call.marker)
        result = await self._execute_batched(call.eval_command)
        self._loaded_scripts.add(call.marker)
        return result
