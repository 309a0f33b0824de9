"""``PipelineDatabase``: a :class:`~limpyd.database.RedisDatabase` whose field commands can be
queued in a redis-py pipeline (``pipeline()``) or run in a WATCH/MULTI/EXEC retry loop
(``transaction()``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from redis.client import Pipeline
from redis.exceptions import WatchError

from ..database import RedisDatabase
from ..fields.base import RedisField
from ..utils import normalize

__all__ = ["LimpydPipeline", "PipelineDatabase"]


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
        try:
            super().reset()
        finally:
            database = getattr(self, "_limpyd_database", None)
            if database is not None:
                database._pop(self)


class PipelineDatabase(RedisDatabase):
    """A :class:`RedisDatabase` with ``pipeline()`` and ``transaction()`` for field commands."""

    def __init__(self, **connection_settings: Any) -> None:
        self._local = threading.local()
        self._shared: list[LimpydPipeline] = []
        super().__init__(**connection_settings)

    def _stack(self) -> list[LimpydPipeline]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def _push(self, pipeline: LimpydPipeline) -> None:
        (self._shared if pipeline._limpyd_shared else self._stack()).append(pipeline)

    def _pop(self, pipeline: LimpydPipeline) -> None:
        for stack in (self._stack(), self._shared):
            if pipeline in stack:
                stack.remove(pipeline)

    def _current(self) -> LimpydPipeline | None:
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
        return self._current() is not None

    def pipeline(self, transaction: bool = True, share_in_threads: bool = False) -> LimpydPipeline:
        """Open a pipeline: field commands of this thread (of every thread with
        ``share_in_threads=True``) are queued in it until ``execute()`` returns their results
        in one round trip."""
        return LimpydPipeline(self, transaction, share_in_threads)

    def transaction(
        self,
        func: Callable[[LimpydPipeline], Any],
        *watches: Any,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run ``func(pipeline)`` in WATCH/MULTI/EXEC, again whenever a watched key changed.

        ``watches`` are key names or bound fields (their keys are watched). Before calling
        ``pipeline.multi()``, ``func`` reads values directly; after it, commands are queued.
        Returns ``pipeline.execute()``'s list (``func``'s return value with
        ``value_from_callable=True``). Each attempt costs the WATCH, the reads and the EXEC.
        """
        keys = [w.key if isinstance(w, RedisField) else normalize(w, "watched key") for w in watches]
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
