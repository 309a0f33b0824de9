"""``AsyncClusterDatabase``: walrus on a Redis Cluster through ``redis.asyncio``.

The async twin of ``walrus.ClusterDatabase``: the same containers, helpers and models (they
are written once as steps and keep the keys of one operation in one hash slot, as on the
sync cluster client), the same URL forms (``walrus.urls``) and the same script planning
(``walrus.script_host``: the source is sent once per node). Only the sending differs.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, cast

import redis.asyncio.cluster as redis_cluster
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from ..cluster import ClusterClientTooOldError, check_same_slot, command_keys
from ..containers.factories import AsyncContainerFactories
from ..retry import outcome_unknown_since, resend_mark
from ..script_host import ScriptHost
from ..urls import parse_cluster_url, url_retry_options, url_scheme
from .client import AsyncClientExtras
from .reconnect import pop_async_retry_options, track_cluster_connections

__all__ = ["AsyncClusterDatabase", "require_async_cluster_transactions"]


def require_async_cluster_transactions() -> None:
    """Raise ``ClusterClientTooOldError`` unless the installed redis-py's asyncio cluster
    pipelines take ``transaction=True`` (MULTI/EXEC within one slot), which walrus's atomic
    writes need. No Redis work."""
    parameters = inspect.signature(redis_cluster.ClusterPipeline.__init__).parameters
    if "transaction" not in parameters:
        raise ClusterClientTooOldError(
            "walrus.asyncio on a Redis Cluster needs a redis-py whose asyncio cluster "
            "pipelines take transaction=True (redis-py 6.2 or newer): pip install -U redis"
        )


class AsyncClusterDatabase(  # type: ignore[misc]  # lock() is walrus's, as on the sync client
    AsyncClientExtras, AsyncContainerFactories, ScriptHost, redis_cluster.RedisCluster
):
    """An asyncio Redis Cluster client with walrus's scripts and helpers
    (``redis.asyncio.cluster.RedisCluster``'s arguments plus ``script_dir``).

    Creating it does not connect; the first command reads the slot map (1 round trip).
    Each helper keeps the keys one operation touches in one hash slot (docs/cluster.md);
    ``atomic()`` transactions and multi-key calls must stay within one slot. Close it with
    ``await db.aclose()``.
    """

    is_cluster = True

    def __init__(
        self,
        *args: Any,
        script_dir: str | Path | None = None,
        request_ids: bool = False,
        **kwargs: Any,
    ) -> None:
        require_async_cluster_transactions()
        # walrus's reconnection options drive redis-py's cluster retry loop (which re-reads
        # the slot map between attempts), as on the sync ClusterDatabase: retries /
        # retry_backoff / retry_backoff_cap / request_ids, or redis-py's retry=.
        retry_kwargs, ids = pop_async_retry_options(kwargs)
        kwargs["retry"] = retry_kwargs["retry"]
        super().__init__(*args, **kwargs)
        # Node connections track what they sent: a lost reply of a command that is not safe
        # to resend raises OutcomeUnknownError, which the cluster loop does not retry (it
        # retries exactly ConnectionError and TimeoutError, not their subclasses).
        track_cluster_connections(self)
        # redis-py sends KEYS and DBSIZE to one node: they must see the whole keyspace (its
        # result callbacks already merge the primaries' replies).
        self.command_flags = {
            **self.command_flags,
            "KEYS": self.PRIMARIES,
            "DBSIZE": self.PRIMARIES,
        }
        self._init_scripts(script_dir, bool(request_ids) or ids)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """redis-py's cluster ``execute_command``; when a write was resent after its reply
        was lost and the command then fails anyway, ``OutcomeUnknownError`` instead of the
        last attempt's error (as the sync ``ClusterDatabase``). 1 round trip (to the node
        owning the command's slot)."""
        mark = resend_mark()
        try:
            return await super().execute_command(*args, **kwargs)
        except NoScriptError:
            raise  # run_script sends the source at once
        except (RedisError, RedisClusterException) as exc:
            unknown = outcome_unknown_since(mark, exc)
            if unknown is not None:
                try:
                    raise unknown from exc
                finally:
                    del unknown  # else frame<->traceback cycle: client kept until GC
            raise

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> AsyncClusterDatabase:
        """``redis+cluster://[[user:]password@]host:port[,host:port...]`` (or
        ``rediss+cluster://``); plain ``redis://host:port`` and ``rediss://`` name one startup
        node. Reconnection options as ``AsyncDatabase.from_url``'s (keyword arguments or the
        query string); other keyword arguments go to ``RedisCluster``. ValueError for a
        malformed URL or a bad option value. No Redis work: the first command reads the
        slot map."""
        script_dir = kwargs.pop("script_dir", None)
        if url_scheme(url) in ("redis", "rediss"):
            url = url.replace("://", "+cluster://", 1)
        url, kwargs = url_retry_options(url, kwargs)
        hosts, options = parse_cluster_url(url)
        options.update(kwargs)
        nodes = [ClusterNode(host, port) for host, port in hosts]
        return cls(startup_nodes=nodes, script_dir=script_dir, **options)

    @property
    def is_embedded(self) -> bool:
        """False: a cluster is never the in-process ``memory://`` engine."""
        return False

    @property
    def connection_options(self) -> dict[str, Any]:
        """The keyword arguments every node connection is made with."""
        return dict(cast(Any, self).connection_kwargs)

    def tag(self, name: Any) -> Any:
        """``"{name}"`` (unchanged when ``name`` already has a ``{tag}``): keys built around
        the same tagged name share one cluster slot. No Redis work."""
        from ..cluster import hash_tag

        return hash_tag(name)

    async def _determine_slot(self, command: str, *args: Any) -> int:
        # XREAD/XREADGROUP and the numkeys set/sorted-set commands are resolved locally
        # (redis-py would ask the server for their keys: one more round trip per call).
        keys = command_keys((command, *args))
        if not keys:
            return await super()._determine_slot(command, *args)
        check_same_slot(self, keys, str(command))
        return self.keyslot(keys[0])

    async def run_script(
        self,
        script_name: str,
        keys: list[Any] | tuple[Any, ...] | None = None,
        args: list[Any] | tuple[Any, ...] | None = None,
        client: Any = None,
    ) -> Any:
        """``AsyncClientExtras.run_script`` on the node of the keys' slot: 1 round trip (the
        source once per node). The slot map is read first if no command has read it yet."""
        if self._initialize:  # where the script goes decides EVAL or EVALSHA
            await self.initialize()
        return await super().run_script(script_name, keys, args, client)

    def _script_scope(self, script_name: str, keys: list[Any]) -> Any:
        if not keys:
            return None  # any node: EVALSHA, reloading on NOSCRIPT
        check_same_slot(self, keys, f"script {script_name!r}")
        node = self.nodes_manager.get_node_from_slot(self.keyslot(keys[0]))
        return node.name if node is not None else None
