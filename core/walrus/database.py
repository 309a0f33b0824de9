"""``Database``: a redis-py client with walrus's containers, helpers and scripts.

The hub of the core: every container and helper takes the ``Database`` it works on. Creating
one does not connect; the first command does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from .containers import (
    Array,
    BitField,
    BloomFilter,
    ConsumerGroup,
    Hash,
    HyperLogLog,
    List,
    Set,
    Stream,
    ZSet,
)
from .exceptions import ScriptNotFound
from .scripts import load_script_source

if TYPE_CHECKING:  # pragma: no cover
    from .autocomplete import Autocomplete
    from .cache import Cache
    from .counter import Counter
    from .fts import Index
    from .graph import Graph
    from .lock import Lock
    from .rate_limit import RateLimit
    from .streams import TimeSeries

__all__ = ["Database", "TransactionLocal"]


class TransactionLocal(threading.local):
    """Per-thread stack of open ``atomic()`` pipelines."""

    def __init__(self) -> None:
        self.pipes: list[Pipeline] = []


class _Atomic:
    """Context manager behind ``Database.atomic()``: one MULTI/EXEC per level."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def __enter__(self) -> Pipeline:
        return self.database.push_transaction()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.database.clear_transaction()
        else:
            self.database.commit_transaction()

    def commit(self, begin_new: bool = True) -> list[Any]:
        """Execute what was queued so far; optionally keep a fresh pipeline open."""
        result = self.database.commit_transaction()
        if begin_new:
            self.database.push_transaction()
        return result

    def clear(self, begin_new: bool = True) -> None:
        """Drop what was queued so far."""
        self.database.clear_transaction()
        if begin_new:
            self.database.push_transaction()


class Database(redis.Redis):
    """Redis client with walrus extras.

    Accepts every ``redis.Redis`` argument plus ``script_dir``: a folder whose ``<name>.lua``
    files ``run_script`` prefers over the packaged scripts.
    """

    def __init__(self, *args: Any, script_dir: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script_dir = script_dir
        self._scripts: dict[str, Script] = {}
        self._loaded_scripts: set[str] = set()
        self._scripts_lock = threading.Lock()
        self._transaction_local = TransactionLocal()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:  # type: ignore[override]
        """Build a Database from a URL: ``redis://``, ``rediss://``, ``unix://`` or ``memory://``.

        ``memory://NAME/DB`` selects the embedded in-process engine (no server needed).
        """
        script_dir = kwargs.pop("script_dir", None)
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, got {type(url).__name__}")
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme == "memory":
            from .embedded import memory_connection_pool

            pool = memory_connection_pool(url, **kwargs)
            return cls(connection_pool=pool, script_dir=script_dir)
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"unsupported URL scheme {scheme!r} in {url!r}: expected redis://, rediss://, "
                "unix:// or memory://"
            )
        pool = redis.ConnectionPool.from_url(url, **kwargs)
        return cls(connection_pool=pool, script_dir=script_dir)

    @property
    def is_embedded(self) -> bool:
        """True when this Database runs on the in-process ``memory://`` engine."""
        return "server" in self.connection_pool.connection_kwargs

    # -- scripts ------------------------------------------------------------------------

    def get_script(self, script_name: str) -> Script:
        """The registered ``Script`` object for ``script_name`` (loaded once per Database)."""
        script = self._scripts.get(script_name)
        if script is None:
            with self._scripts_lock:
                script = self._scripts.get(script_name)
                if script is None:
                    source = load_script_source(script_name, self.script_dir)
                    if source is None:
                        raise ScriptNotFound(f"no Lua script named {script_name!r}")
                    script = self.register_script(source)
                    self._scripts[script_name] = script
        return script

    def run_script(
        self,
        script_name: str,
        keys: list[Any] | tuple[Any, ...] | None = None,
        args: list[Any] | tuple[Any, ...] | None = None,
        client: Any = None,
    ) -> Any:
        """Run the named Lua script: always one round trip.

        The first run from this Database sends the source (EVAL, which also caches it on the
        server); later runs send its SHA (EVALSHA), falling back to EVAL once when the server
        forgot it (``SCRIPT FLUSH``, restart, failover). ``client`` may be a pipeline: the
        script is queued there as EVAL, which cannot fail with NOSCRIPT mid-pipeline.
        """
        script = self.get_script(script_name)
        key_list = list(keys or ())
        argv = list(args or ())
        if client is not None and client is not self:
            return client.eval(script.script, len(key_list), *key_list, *argv)
        if script_name in self._loaded_scripts:
            try:
                return self.evalsha(script.sha, len(key_list), *key_list, *argv)
            except NoScriptError:
                self._loaded_scripts.discard(script_name)
        result = self.eval(script.script, len(key_list), *key_list, *argv)  # type: ignore[arg-type]
        self._loaded_scripts.add(script_name)
        return result

    def cas(self, key: Any, value: Any, new_value: Any) -> bool:
        """Atomically set ``key`` to ``new_value`` if it currently equals ``value`` (1 round trip)."""
        return bool(self.run_script("cas", keys=[key], args=[value, new_value]))

    # -- transactions -------------------------------------------------------------------

    def atomic(self) -> _Atomic:
        """Context manager: commands sent through ``db.pipe`` run in one MULTI/EXEC on exit."""
        return _Atomic(self)

    def push_transaction(self) -> Pipeline:
        pipe = self.pipeline()
        self._transaction_local.pipes.append(pipe)
        return pipe

    def pop_transaction(self) -> Pipeline:
        return self._transaction_local.pipes.pop()

    def commit_transaction(self) -> list[Any]:
        return self.pop_transaction().execute()

    def clear_transaction(self) -> None:
        self.pop_transaction().reset()

    @property
    def pipe(self) -> Pipeline | None:
        """The innermost open ``atomic()`` pipeline of this thread, or None."""
        pipes = self._transaction_local.pipes
        return pipes[-1] if pipes else None

    # -- keyspace -----------------------------------------------------------------------

    def get_temp_key(self) -> str:
        """A random key name ``temp.<uuid4>`` for short-lived data."""
        return f"temp.{uuid.uuid4()}"

    def __iter__(self) -> Iterator[bytes]:
        """Iterate over every key of the selected database (SCAN, never KEYS)."""
        return self.scan_iter()

    def search(self, pattern: str) -> Iterator[bytes]:  # type: ignore[override]
        """Keys matching a glob ``pattern`` (SCAN MATCH, in batches)."""
        return self.scan_iter(match=pattern)

    def get_key(self, key: Any) -> Any:
        """A container for ``key`` chosen by its TYPE; a string key returns its value.

        Raises KeyError when the key does not exist.
        """
        key_type = self.type(key)
        if isinstance(key_type, bytes):
            key_type = key_type.decode()
        factory = {
            "hash": self.Hash,
            "list": self.List,
            "set": self.Set,
            "zset": self.ZSet,
            "stream": self.Stream,
        }.get(key_type)
        if factory is not None:
            return factory(key)
        if key_type == "none":
            raise KeyError(key)
        return self[key]

    def xsetid(self, name: Any, id: Any) -> bool:  # type: ignore[override]  # noqa: A002
        """Set the last id of stream ``name`` (XSETID, 1 round trip)."""
        return bool(self.execute_command("XSETID", name, id))

    # -- container factories -------------------------------------------------------------

    def Hash(self, key: Any) -> Hash:  # noqa: N802 - walrus API names
        return Hash(self, key)

    def List(self, key: Any) -> List:  # noqa: N802
        return List(self, key)

    def Set(self, key: Any) -> Set:  # noqa: N802
        return Set(self, key)

    def ZSet(self, key: Any) -> ZSet:  # noqa: N802
        return ZSet(self, key)

    def HyperLogLog(self, key: Any) -> HyperLogLog:  # noqa: N802
        return HyperLogLog(self, key)

    def Array(self, key: Any) -> Array:  # noqa: N802
        return Array(self, key)

    def Stream(self, key: Any) -> Stream:  # noqa: N802
        return Stream(self, key)

    def bit_field(self, key: Any) -> BitField:
        return BitField(self, key)

    def bloom_filter(self, key: Any, size: int = 64 * 1024) -> BloomFilter:
        return BloomFilter(self, key, size)

    def consumer_group(self, group: Any, keys: Any, consumer: Any = None) -> ConsumerGroup:
        return ConsumerGroup(self, group, keys, consumer)

    def time_series(self, group: Any, keys: Any, consumer: Any = None) -> TimeSeries:
        from .streams import TimeSeries

        return TimeSeries(self, group, keys, consumer)

    # -- helpers ---------------------------------------------------------------------------

    def Index(self, name: str, **options: Any) -> Index:  # noqa: N802
        from .fts import Index

        return Index(self, name, **options)

    def cache(self, name: str = "cache", default_timeout: int | None = 3600, **kwargs: Any) -> Cache:
        from .cache import Cache

        return Cache(self, name, default_timeout, **kwargs)

    def counter(self, name: str) -> Counter:
        from .counter import Counter

        return Counter(self, name)

    def graph(self, name: str, *args: Any, **kwargs: Any) -> Graph:
        from .graph import Graph

        return Graph(self, name, *args, **kwargs)

    def lock(self, name: str, ttl: int | None = None, lock_id: str | None = None) -> Lock:  # type: ignore[override]
        from .lock import Lock

        return Lock(self, name, ttl, lock_id)

    def rate_limit(self, name: str, limit: int = 5, per: float = 60, debug: bool = False) -> RateLimit:
        from .rate_limit import RateLimit

        return RateLimit(self, name, limit, per, debug)

    def autocomplete(self, namespace: str = "walrus", **kwargs: Any) -> Autocomplete:
        from .autocomplete import Autocomplete

        return Autocomplete(self, namespace, **kwargs)

    # -- pub/sub and monitoring ------------------------------------------------------------

    def listener(self, channels: Any = None, patterns: Any = None, is_async: bool = False) -> Any:
        """Decorator running a function for each pub/sub message until it raises StopIteration."""
        from .pubsub import make_listener

        return make_listener(self, channels, patterns, is_async)

    def stream_log(self, callback: Any, connection_id: str = "monitor") -> None:
        """Feed each command the server runs (MONITOR) to ``callback`` until it returns False
        or raises StopIteration; the monitor connection is released afterwards."""
        from .pubsub import stream_log

        stream_log(self, callback, connection_id)
