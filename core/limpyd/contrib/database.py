"""``PipelineDatabase``: a :class:`~limpyd.database.RedisDatabase` whose field commands can be
queued in a redis-py pipeline (``pipeline()``) or run in a WATCH/MULTI/EXEC retry loop
(``transaction()``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.cluster
from redis.client import Pipeline
from redis.cluster import ClusterPipeline
from redis.exceptions import WatchError

from walrus.cluster import check_same_slot

from ..database import RedisDatabase
from ..exceptions import ImplementationError
from ..fields.base import RedisField
from ..utils import normalize

__all__ = ["LimpydClusterPipeline", "LimpydPipeline", "PipelineDatabase", "_Pipeline"]


class LimpydPipeline(Pipeline):
    """A redis-py pipeline that receives the field commands of its thread while open.

    It is active from its creation until ``execute()``, ``reset()`` or the end of its
    ``with`` block. Getters queue their command and return the pipeline; ``execute()`` returns
    every result in order. The local cache is bypassed. Indexable fields cannot be updated
    (their index sets depend on values read in Redis) and instances cannot be created or
    deleted: those raise :class:`~limpyd.exceptions.ImplementationError` before queuing.
    """

    def __init__(self, database: PipelineDatabase, transaction: bool, shared: bool) -> None:
        client = database.direct_connection
        super().__init__(client.connection_pool, client.response_callbacks, transaction, None)
        self._limpyd_database = database
        self._limpyd_shared = shared
        database._push(self)

    def reset(self) -> None:  # type: ignore[override]
        """Drop the queued commands and stop queueing this thread's field commands here (redis-py
        sends UNWATCH, 1 round trip, when keys were watched)."""
        try:
            super().reset()
        finally:
            database = getattr(self, "_limpyd_database", None)
            if database is not None:
                database._pop(self)


class LimpydClusterPipeline(ClusterPipeline):
    """:class:`LimpydPipeline` on a Redis Cluster (a redis-py ``ClusterPipeline``).

    Without a transaction, commands on any keys are sent in one round trip per node. With a
    transaction (the default) every queued or watched key must be in one hash slot, i.e.
    belong to one model or to models sharing a ``cluster_tag``; otherwise ``execute()``
    raises redis-py's ``CrossSlotTransactionError`` and nothing is sent.
    """

    def __init__(self, database: PipelineDatabase, transaction: bool, shared: bool) -> None:
        client: Any = database.direct_connection
        super().__init__(
            nodes_manager=client.nodes_manager,
            commands_parser=client.commands_parser,
            startup_nodes=client.nodes_manager.startup_nodes,
            result_callbacks=client.result_callbacks,
            cluster_response_callbacks=client.cluster_response_callbacks,
            read_from_replicas=client.read_from_replicas,
            load_balancing_strategy=client.load_balancing_strategy,
            reinitialize_steps=client.reinitialize_steps,
            retry=client.retry,
            lock=client._lock,
            transaction=transaction,
            event_dispatcher=client._event_dispatcher,
        )
        self._limpyd_database = database
        self._limpyd_shared = shared
        database._push(self)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands; replies are parsed as on one server (redis-py's cluster
        transactions skip the per-command parsing, e.g. SET would give ``'OK'``).
        1 round trip per node (a transaction stays in one slot: 1 round trip)."""
        # Imported here: redis-py < 6.1 has no cluster transactions, and single-server users
        # of this module must not need them.
        from redis.cluster import TransactionStrategy

        strategy = self._execution_strategy
        if not isinstance(strategy, TransactionStrategy):
            return list(super().execute(raise_on_error))
        queued = [(cmd.args[0], dict(cmd.options)) for cmd in strategy.command_queue]
        results = list(super().execute(raise_on_error))
        client: Any = self._limpyd_database.direct_connection
        callbacks = client.get_default_node().redis_connection.response_callbacks
        parsed = []
        for (name, options), result in zip(queued, results, strict=False):
            if (
                not isinstance(result, Exception)
                and name not in self.cluster_response_callbacks
                and name in callbacks
            ):
                options.pop("keys", None)
                result = callbacks[name](result, **options)
            parsed.append(result)
        return parsed

    def reset(self) -> None:  # type: ignore[override]
        """Drop the queued commands and stop queueing this thread's field commands here (redis-py
        sends UNWATCH, 1 round trip, when keys were watched)."""
        try:
            super().reset()  # type: ignore[no-untyped-call]  # unannotated in redis-py
        finally:
            database = getattr(self, "_limpyd_database", None)
            if database is not None:
                database._pop(self)


# redis-limpyd 2.x's name for the pipeline class.
_Pipeline = LimpydPipeline
"""redis-limpyd 2.x's name for `LimpydPipeline`."""


class PipelineDatabase(RedisDatabase):
    """A :class:`RedisDatabase` with ``pipeline()`` and ``transaction()`` for field commands.

    On a Redis Cluster ``pipeline()`` gives a :class:`LimpydClusterPipeline`: a transaction
    must stay in one hash slot (one model, or models sharing a ``cluster_tag``).
    """

    def __init__(self, **connection_settings: Any) -> None:
        self._local = threading.local()
        self._shared: list[Any] = []
        super().__init__(**connection_settings)

    def _stack(self) -> list[Any]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _push(self, pipeline: Any) -> None:
        (self._shared if pipeline._limpyd_shared else self._stack()).append(pipeline)

    def _pop(self, pipeline: Any) -> None:
        for stack in (self._stack(), self._shared):
            if pipeline in stack:
                stack.remove(pipeline)

    def _current(self) -> Any:
        stack = self._stack()
        if stack:
            return stack[-1]
        return self._shared[-1] if self._shared else None

    @property
    def connection(self) -> Any:
        """The open pipeline of this thread (or a shared one), else the walrus ``Database``."""
        pipeline = self._current()
        return pipeline if pipeline is not None else self.direct_connection

    def has_pipeline(self) -> bool:
        """True when field commands of this thread are being queued in a pipeline. No Redis work."""
        return self._current() is not None

    def pipeline(self, transaction: bool = True, share_in_threads: bool = False) -> Any:
        """Open a pipeline: field commands of this thread (of every thread with
        ``share_in_threads=True``) are queued in it until ``execute()`` returns their results
        in one round trip (a :class:`LimpydClusterPipeline` on a cluster)."""
        if self.is_cluster:
            if not hasattr(redis.cluster, "TransactionStrategy"):
                raise ImplementationError(
                    f"PipelineDatabase.pipeline on a Redis Cluster needs redis-py >= 6.1 "
                    f"(cluster transactions); this is redis-py {redis.__version__}"
                )
            return LimpydClusterPipeline(self, transaction, share_in_threads)
        return LimpydPipeline(self, transaction, share_in_threads)

    def transaction(
        self,
        func: Callable[[Any], Any],
        *watches: Any,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run ``func(pipeline)`` in WATCH/MULTI/EXEC, again whenever a watched key changed.

        ``watches`` are key names or bound fields (their keys are watched). Before calling
        ``pipeline.multi()``, ``func`` reads values directly; after it, commands are queued.
        Returns ``pipeline.execute()``'s list (``func``'s return value with
        ``value_from_callable=True``). Each attempt costs the WATCH, the reads and the EXEC.
        On a cluster the watched keys must share one hash slot (``CrossSlotError`` otherwise,
        raised before anything is sent).
        Cost per attempt: 1 round trip for WATCH (when keys are watched), the direct reads
        ``func`` makes, and 1 for MULTI/EXEC.
        """
        keys = [
            w.key if isinstance(w, RedisField) else normalize(w, "watched key") for w in watches
        ]
        check_same_slot(self.direct_connection, keys, "PipelineDatabase.transaction (watched keys)")
        while True:
            pipe = self.pipeline(transaction=True)
            with pipe:
                try:
                    if keys:
                        pipe.watch(*keys)
                    func_value = func(pipe)
                    exec_value = pipe.execute()
                    return func_value if value_from_callable else exec_value
                except WatchError:
                    if watch_delay:
                        time.sleep(watch_delay)
